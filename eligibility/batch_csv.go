package eligibility

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/wareki"
)

// Limits of a reservation list (一括照会): a file over them is refused whole.
const (
	MaxBatchBytes = 2 << 20 // 2 MiB
	MaxBatchRows  = 10000
)

// ErrBadFile means an uploaded reservation list was refused whole: not
// CSV, not UTF-8, too big, too many rows, or a wrong header. Nothing of it is
// stored. The error is a *FileError with the message in both languages.
var ErrBadFile = errors.New("eligibility: the reservation list was refused")

// FileError says why a reservation list was refused whole.
type FileError struct {
	JA, EN string
}

func (e *FileError) Error() string { return "eligibility: reservation list: " + e.EN }

// Is makes errors.Is(err, ErrBadFile) true.
func (e *FileError) Is(target error) bool { return target == ErrBadFile }

// Unwrap is the answer with the error's own text (Rules passes it on).
func (e *FileError) Unwrap() error {
	return httpapi.New(http.StatusBadRequest, CodeBadFile, e.JA, e.EN)
}

func fileErr(ja, en string) error { return &FileError{JA: ja, EN: en} }

// BatchRow is one reservation of the list. Err is set (both languages)
// when the row itself is wrong; the other rows still run.
type BatchRow struct {
	Line  int    // line of the file (the header is line 1)
	Label string // the facility's own reservation label, may be empty
	Key   CardKey
	ErrJA string
	ErrEN string
}

// The header names a column may have: Japanese or English, any order.
// 保険者番号, 記号, 番号 and 生年月日 are required; 枝番 and 予約 are not.
var batchColumns = map[string]string{
	"保険者番号": "insurer", "insurer": "insurer", "insurer_number": "insurer",
	"記号": "symbol", "symbol": "symbol",
	"番号": "number", "number": "number",
	"生年月日": "birth_date", "birth_date": "birth_date", "birthdate": "birth_date",
	"枝番": "branch", "branch": "branch",
	"予約": "label", "予約ラベル": "label", "label": "label", "reservation": "label",
}

var requiredColumns = []struct{ key, ja, en string }{
	{"insurer", "保険者番号", "insurer"}, {"symbol", "記号", "symbol"},
	{"number", "番号", "number"}, {"birth_date", "生年月日", "birth_date"},
}

// ParseBatchCSV reads a reservation list: UTF-8 CSV (a BOM, as Excel writes
// it, is allowed), a header row naming the columns (see batchColumns), then at
// most MaxBatchRows rows. Blank lines are skipped. A row with a wrong value
// comes back with its error; a malformed file is an error wrapping
// ErrBadFile (a *FileError).
func ParseBatchCSV(data []byte) ([]BatchRow, error) {
	if len(data) > MaxBatchBytes {
		return nil, fileErr("ファイルが大きすぎます（2 MiB まで）。分けてアップロードしてください。",
			"The file is too big (2 MiB at most); upload it in parts.")
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, fileErr("ファイルが UTF-8 ではありません。Excel では「CSV UTF-8（コンマ区切り）」で保存してください。",
			"The file is not UTF-8. In Excel, save it as \"CSV UTF-8 (Comma delimited)\".")
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, fileErr("CSV ファイルではありません。", "This is not a CSV file.")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fileErr("ファイルが空です。見出し行と予約の行が必要です。", "The file is empty; it needs a header row and reservation rows.")
	}
	if err != nil {
		return nil, csvErr(err)
	}
	cols, err := batchHeader(header)
	if err != nil {
		return nil, err
	}
	var rows []BatchRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(err)
		}
		if blank(rec) {
			continue
		}
		if len(rows) == MaxBatchRows {
			return nil, fileErr(fmt.Sprintf("行が多すぎます（%d 行まで）。分けてアップロードしてください。", MaxBatchRows),
				fmt.Sprintf("Too many rows (%d at most); upload the list in parts.", MaxBatchRows))
		}
		line, _ := r.FieldPos(0)
		rows = append(rows, batchRow(line, cols, rec))
	}
	if len(rows) == 0 {
		return nil, fileErr("予約の行がありません。", "The file has no reservation rows.")
	}
	return rows, nil
}

func csvErr(err error) error {
	line := 0
	if pe, ok := errors.AsType[*csv.ParseError](err); ok {
		line = pe.Line
	}
	return fileErr(fmt.Sprintf("CSV として読めません（%d 行目）。引用符（\"）の対応を確認してください。", line),
		fmt.Sprintf("The file cannot be read as CSV (line %d); check the quotes (\").", line))
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// batchHeader maps each column of the header to its field.
func batchHeader(header []string) ([]string, error) {
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(norm.NFKC.String(h)))
		key, ok := batchColumns[name]
		if !ok {
			return nil, fileErr(fmt.Sprintf("見出し行の %d 列目「%s」は使えない列名です。使える列名：保険者番号, 記号, 番号, 生年月日, 枝番, 予約。", i+1, clip(h, 40)),
				fmt.Sprintf("Column %d of the header, %q, is not a known column. Known: insurer, symbol, number, birth_date, branch, label.", i+1, clip(h, 40)))
		}
		if seen[key] {
			return nil, fileErr(fmt.Sprintf("見出し行の列「%s」が重複しています。", clip(h, 40)), fmt.Sprintf("The header names column %q twice.", clip(h, 40)))
		}
		seen[key] = true
		cols[i] = key
	}
	var missJA, missEN []string
	for _, c := range requiredColumns {
		if !seen[c.key] {
			missJA, missEN = append(missJA, c.ja), append(missEN, c.en)
		}
	}
	if len(missJA) > 0 {
		return nil, fileErr("見出し行に必要な列がありません："+strings.Join(missJA, "、")+"。1行目は「保険者番号,記号,番号,生年月日,枝番,予約」としてください。",
			"The header lacks the columns: "+strings.Join(missEN, ", ")+". Line 1 must be like \"insurer,symbol,number,birth_date,branch,label\".")
	}
	return cols, nil
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

var (
	digits     = regexp.MustCompile(`^[0-9]+$`)
	maxLabel   = 100
	maxKeyPart = 20
)

// batchRow checks one row; problems are collected, not fatal.
func batchRow(line int, cols []string, rec []string) BatchRow {
	row := BatchRow{Line: line}
	var ja, en []string
	bad := func(j, e string) { ja, en = append(ja, j), append(en, e) }
	if len(rec) != len(cols) {
		bad(fmt.Sprintf("列の数が %d です（見出しは %d 列）", len(rec), len(cols)),
			fmt.Sprintf("%d columns (the header has %d)", len(rec), len(cols)))
	}
	v := map[string]string{}
	for i, c := range cols {
		if i < len(rec) {
			v[c] = rec[i]
		}
	}
	field := func(k string) string { return strings.TrimSpace(norm.NFKC.String(v[k])) }
	row.Label = strings.TrimSpace(v["label"])
	if utf8.RuneCountInString(row.Label) > maxLabel {
		row.Label = clip(row.Label, maxLabel)
		bad(fmt.Sprintf("予約は %d 文字まで", maxLabel), fmt.Sprintf("the label is %d characters at most", maxLabel))
	}
	row.Key.Insurer = field("insurer")
	if !insurerNumber.MatchString(row.Key.Insurer) {
		bad("保険者番号は6桁または8桁の数字", "insurer number must be 6 or 8 digits")
	}
	row.Key.Symbol = field("symbol")
	if utf8.RuneCountInString(row.Key.Symbol) > maxKeyPart {
		bad("記号は20文字まで", "symbol is 20 characters at most")
		row.Key.Symbol = clip(row.Key.Symbol, maxKeyPart)
	}
	row.Key.Number = field("number")
	switch {
	case row.Key.Number == "":
		bad("番号がありません", "number is missing")
	case utf8.RuneCountInString(row.Key.Number) > maxKeyPart:
		bad("番号は20文字まで", "number is 20 characters at most")
		row.Key.Number = clip(row.Key.Number, maxKeyPart)
	}
	row.Key.Branch = field("branch")
	if row.Key.Branch != "" && !branchPattern.MatchString(row.Key.Branch) {
		bad("枝番は2桁の数字（例 01）", "branch must be 2 digits (e.g. 01)")
		row.Key.Branch = clip(row.Key.Branch, 2)
	}
	bd := field("birth_date")
	if t, err := parseBirthDate(bd); err != nil {
		bad("生年月日「"+clip(bd, 20)+"」が読めません（例 1975-06-30、S50.6.30、昭和50年6月30日）",
			"birth date "+strconv.Quote(clip(bd, 20))+" cannot be read (e.g. 1975-06-30, S50.6.30)")
	} else {
		row.Key.BirthDate = t
	}
	if len(ja) > 0 {
		row.ErrJA, row.ErrEN = strings.Join(ja, "。")+"。", strings.Join(en, "; ")+"."
	}
	return row
}

// Era starts by the letter of JIS X 0301 and the era's name.
var eraStartYear = map[string]int{
	"M": 1868, "明治": 1868, "T": 1912, "大正": 1912, "S": 1926, "昭和": 1926,
	"H": 1989, "平成": 1989, "R": 2019, "令和": 2019,
}

var (
	westernDate = regexp.MustCompile(`^([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})$`)
	letterDate  = regexp.MustCompile(`^([MTSHR])([0-9]{1,2})[./-]([0-9]{1,2})[./-]([0-9]{1,2})$`)
	kanjiDate   = regexp.MustCompile(`^(明治|大正|昭和|平成|令和)([0-9]{1,2}|元)年([0-9]{1,2})月([0-9]{1,2})日$`)
)

// parseBirthDate reads a civil date: 1975-06-30 (or 1975/6/30, as Excel
// shows it), S50.6.30 (JIS X 0301 letters), or 昭和50年6月30日 (元年 for
// year 1). An era date must lie within its era: H31.5.1 and S64.1.8 are
// refused (令和 and 平成 had begun).
func parseBirthDate(s string) (time.Time, error) {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	var y, m, d int
	era := ""
	if p := westernDate.FindStringSubmatch(s); p != nil {
		y, m, d = atoi(p[1]), atoi(p[2]), atoi(p[3])
	} else if p := letterDate.FindStringSubmatch(s); p != nil {
		era, y, m, d = p[1], atoi(p[2]), atoi(p[3]), atoi(p[4])
	} else if p := kanjiDate.FindStringSubmatch(s); p != nil {
		era, m, d = p[1], atoi(p[3]), atoi(p[4])
		y = 1
		if p[2] != "元" {
			y = atoi(p[2])
		}
	} else {
		return time.Time{}, fmt.Errorf("%w: date %q", ErrInvalid, s)
	}
	if era != "" {
		if y < 1 {
			return time.Time{}, fmt.Errorf("%w: era year %d", ErrInvalid, y)
		}
		y += eraStartYear[era] - 1
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, wareki.JST())
	if t.Year() != y || int(t.Month()) != m || t.Day() != d || y < 1873 {
		return time.Time{}, fmt.Errorf("%w: no such date %q", ErrInvalid, s)
	}
	if era != "" {
		e, _, err := wareki.Of(t)
		if err != nil || (e.Letter != era && e.Name != era) {
			return time.Time{}, fmt.Errorf("%w: %q is outside its era", ErrInvalid, s)
		}
	}
	return t, nil
}

func atoi(s string) int {
	if !digits.MatchString(s) {
		return -1
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
