package eligibility

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store"
)

func TestClinicParseBatchCSV(t *testing.T) {
	type row struct {
		Line                                   int
		Label, Insurer, Symbol, Number, Branch string
		Birth                                  string
		Bad                                    bool
	}
	flat := func(rows []BatchRow) []row {
		var out []row
		for _, r := range rows {
			b := ""
			if !r.Key.BirthDate.IsZero() {
				b = civil(r.Key.BirthDate)
			}
			out = append(out, row{r.Line, r.Label, r.Key.Insurer, r.Key.Symbol, r.Key.Number, r.Key.Branch, b, r.ErrJA != ""})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		in      string
		want    []row
		wantErr string // part of the English message of a refused file
	}{
		{name: "good rows, Japanese header",
			in:   "保険者番号,記号,番号,生年月日,枝番,予約\n06230012,12,345,1975-06-30,00,朝一\n39123456,,00012345,1936/11/11,,\n",
			want: []row{{2, "朝一", "06230012", "12", "345", "00", "1975-06-30", false}, {3, "", "39123456", "", "00012345", "", "1936-11-11", false}}},
		{name: "BOM, CRLF, English header in another order, full-width digits",
			in:   "\ufeffbirth_date,number,symbol,insurer\r\n１９７５－０６－３０,３４５,12,06230012\r\n",
			want: []row{{2, "", "06230012", "12", "345", "", "1975-06-30", false}}},
		{name: "wareki dates",
			in: "保険者番号,記号,番号,生年月日\n062049,1,1,S50.6.30\n062049,1,2,R2.4.1\n062049,1,3,平成元年1月8日\n062049,1,4,h31.4.30\n",
			want: []row{{2, "", "062049", "1", "1", "", "1975-06-30", false}, {3, "", "062049", "1", "2", "", "2020-04-01", false},
				{4, "", "062049", "1", "3", "", "1989-01-08", false}, {5, "", "062049", "1", "4", "", "2019-04-30", false}}},
		{name: "bad rows next to a good one; blank lines skipped",
			in: "保険者番号,記号,番号,生年月日,枝番\n12,1,1,1975-06-30,\n\n06230012,1,,1975-02-30,1\n06230012,1,1,H31.5.1,\n06230012,1,1\n06230012,1,9,1975-06-30,01\n",
			want: []row{{2, "", "12", "1", "1", "", "1975-06-30", true}, {4, "", "06230012", "1", "", "1", "", true},
				{5, "", "06230012", "1", "1", "", "", true}, {6, "", "06230012", "1", "1", "", "", true},
				{7, "", "06230012", "1", "9", "01", "1975-06-30", false}}},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "header only", in: "保険者番号,記号,番号,生年月日\n", wantErr: "no reservation rows"},
		{name: "wrong header", in: "name,birth\n山田,1975-06-30\n", wantErr: "not a known column"},
		{name: "missing column", in: "保険者番号,記号,生年月日\n06230012,1,1975-06-30\n", wantErr: "lacks the columns: number"},
		{name: "duplicate column", in: "保険者番号,記号,番号,番号,生年月日\n", wantErr: "twice"},
		{name: "not CSV", in: "保険者番号,記号,番号,生年月日\n\"06230012,1,1,1975-06-30\n", wantErr: "cannot be read as CSV"},
		{name: "Shift_JIS", in: "\x95\xdb\x8c\xaf\x8e\xd2\x94\xd4\x8d\x86\n", wantErr: "not UTF-8"},
		{name: "binary", in: "\x00\x01\x02", wantErr: "not a CSV"},
		{name: "too many rows", in: "保険者番号,記号,番号,生年月日\n" + strings.Repeat("06230012,1,1,1975-06-30\n", MaxBatchRows+1), wantErr: "Too many rows"},
		{name: "too big", in: "保険者番号,記号,番号,生年月日\n" + strings.Repeat("x", MaxBatchBytes), wantErr: "too big"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := ParseBatchCSV([]byte(tc.in))
			if tc.wantErr != "" {
				if !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want a refused file saying %q", err, tc.wantErr)
				}
				if fe, ok := errors.AsType[*FileError](err); !ok || fe.JA == "" {
					t.Errorf("no Japanese message: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, flat(rows)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			for _, r := range rows {
				if (r.ErrJA == "") != (r.ErrEN == "") {
					t.Errorf("line %d: error in one language only: %q / %q", r.Line, r.ErrJA, r.ErrEN)
				}
			}
		})
	}
	// 10,000 rows exactly are accepted.
	rows, err := ParseBatchCSV([]byte("保険者番号,記号,番号,生年月日\n" + strings.Repeat("06230012,1,1,1975-06-30\n", MaxBatchRows)))
	if err != nil || len(rows) != MaxBatchRows {
		t.Errorf("%d rows: %d, %v", MaxBatchRows, len(rows), err)
	}
}

func TestClinicParseBirthDate(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means refused
	}{
		{"1975-06-30", "1975-06-30"}, {"1975/6/30", "1975-06-30"}, {"S50.6.30", "1975-06-30"}, {"s50/06/30", "1975-06-30"},
		{"R2.4.1", "2020-04-01"}, {"R1.5.1", "2019-05-01"}, {"令和元年5月1日", "2019-05-01"}, {"昭和64年1月7日", "1989-01-07"},
		{"T15.12.24", "1926-12-24"}, {"M45.7.29", "1912-07-29"},
		{"S64.1.8", ""}, {"H31.5.1", ""}, {"R1.4.30", ""}, {"S0.1.1", ""}, {"1975-02-29", ""}, {"1872-12-31", ""},
		{"1975-6", ""}, {"X50.6.30", ""}, {"", ""}, {"19750630", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseBirthDate(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("accepted as %s", civil(got))
				}
				return
			}
			if err != nil || civil(got) != tc.want || got.Location().String() != "JST" {
				t.Fatalf("%v %v, want %s", got, err, tc.want)
			}
		})
	}
}

func TestClinicBatchQueriesKeepPlaceholderOrder(t *testing.T) {
	for _, q := range batchQueries {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Errorf("%v in %s", err, q)
		}
	}
}

// FuzzBatchCSV: the parser never panics, refuses a file only with a
// bilingual FileError, and every row it accepts without an error is one
// Lookup accepts too.
func FuzzBatchCSV(f *testing.F) {
	for _, s := range []string{
		"保険者番号,記号,番号,生年月日,枝番,予約\n06230012,12,345,1975-06-30,00,朝一\n",
		"\ufeffinsurer,symbol,number,birth_date\r\n062049,,1,S50.6.30\r\n",
		"保険者番号,記号,番号,生年月日\n\"a\"\"b\",1,2,令和元年5月1日\n",
		"a,b\n\"",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseBatchCSV(data)
		if err != nil {
			fe, ok := errors.AsType[*FileError](err)
			if !ok || fe.JA == "" || fe.EN == "" || !errors.Is(err, ErrBadFile) {
				t.Fatalf("refused without a bilingual FileError: %v", err)
			}
			return
		}
		if len(rows) == 0 || len(rows) > MaxBatchRows {
			t.Fatalf("%d rows", len(rows))
		}
		for _, r := range rows {
			if (r.ErrJA == "") != (r.ErrEN == "") {
				t.Fatalf("line %d: error in one language only", r.Line)
			}
			if r.ErrJA != "" {
				continue
			}
			k := r.Key
			if !insurerNumber.MatchString(k.Insurer) || k.Number == "" || k.BirthDate.IsZero() ||
				(k.Branch != "" && !branchPattern.MatchString(k.Branch)) || k.BirthDate.Year() < 1873 {
				t.Fatalf("line %d accepted but Lookup would refuse it: %+v", r.Line, k)
			}
			if _, err := time.Parse(time.DateOnly, civil(k.BirthDate)); err != nil {
				t.Fatal(fmt.Errorf("birth date: %w", err))
			}
		}
	})
}
