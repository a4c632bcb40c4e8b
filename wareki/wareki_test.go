package wareki

import (
	"errors"
	"testing"
	"time"
)

func TestEraBoundaries(t *testing.T) {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, jst) }
	tests := []struct {
		in         time.Time
		long, jpki string
		jis        string
	}{
		{d(1989, 1, 7), "昭和64年1月7日", "319890107", "S64.01.07"},
		{d(1989, 1, 8), "平成元年1月8日", "419890108", "H01.01.08"},
		{d(2019, 4, 30), "平成31年4月30日", "420190430", "H31.04.30"},
		{d(2019, 5, 1), "令和元年5月1日", "520190501", "R01.05.01"},
		{d(1926, 12, 25), "昭和元年12月25日", "319261225", "S01.12.25"},
		{d(1912, 7, 29), "明治45年7月29日", "119120729", "M45.07.29"},
		{d(1899, 12, 1), "明治32年12月1日", "118991201", "M32.12.01"},
		{d(2026, 11, 24), "令和8年11月24日", "520261124", "R08.11.24"},
		// 2019-04-30 20:00 UTC is already 令和元年5月1日 in Japan.
		{time.Date(2019, 4, 30, 20, 0, 0, 0, time.UTC), "令和元年5月1日", "520190501", "R01.05.01"},
	}
	for _, tc := range tests {
		t.Run(tc.long, func(t *testing.T) {
			long, err := Long(tc.in)
			if err != nil || long != tc.long {
				t.Errorf("Long = %q, %v; want %q", long, err, tc.long)
			}
			j, err := JPKIDate(tc.in)
			if err != nil || j != tc.jpki {
				t.Errorf("JPKIDate = %q, %v; want %q", j, err, tc.jpki)
			}
			x, err := JISX0301(tc.in)
			if err != nil || x != tc.jis {
				t.Errorf("JISX0301 = %q, %v; want %q", x, err, tc.jis)
			}
		})
	}
	if _, err := Long(d(1872, 12, 31)); !errors.Is(err, ErrBeforeGregorian) {
		t.Errorf("1872-12-31: err = %v, want ErrBeforeGregorian", err)
	}
}
