package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/community/town"
	"github.com/mynaplat/mynaplat/platform"
)

// TownsConfig is what the towns' part of the demo needs: the towns'
// service, and the platform and the cards to learn the residents'
// platform IDs.
type TownsConfig struct {
	Towns    *town.Service
	Platform *platform.Platform
	Cards    *card.Store
	Now      func() time.Time
}

// demoTown is a demo town: its residents (by the demo card holder's name)
// with their checkups, and its facilities.
type demoTown struct {
	ID, NameJA, NameEN string
	Residents          []string
	// Checkups are the residents' checkups by holder name.
	Checkups   map[string][]town.Year
	Facilities []demoFacility
}

// demoFacility is a facility with its daily slots (hour of the start,
// length in hours) of the next two weeks, each of Capacity seats.
type demoFacility struct {
	NameJA, NameEN string
	Hours          []int
	Length         int
	Capacity       int
}

// checkupYear is one year's basic items of a demo checkup, with the
// reference ranges of 特定健診's judgement values (保健指導判定値).
func checkupYear(year int, height, weight, waist, sbp, dbp, hba1c, ldl, hdl, tg float64) town.Year {
	return town.Year{Year: year, TakenAt: time.Date(year, 6, 12, 9, 0, 0, 0, town.JST), Results: []town.Result{
		{Item: "height", Value: height, Unit: "cm"},
		{Item: "weight", Value: weight, Unit: "kg"},
		{Item: "bmi", Value: float64(int(weight/(height*height/10000)*10+0.5)) / 10, Unit: "kg/m²", Low: 18.5, High: 24.9},
		{Item: "waist", Value: waist, Unit: "cm", Low: 0, High: 89.9},
		{Item: "sbp", Value: sbp, Unit: "mmHg", Low: 90, High: 129},
		{Item: "dbp", Value: dbp, Unit: "mmHg", Low: 50, High: 84},
		{Item: "hba1c", Value: hba1c, Unit: "%", Low: 4.6, High: 5.5},
		{Item: "ldl", Value: ldl, Unit: "mg/dL", Low: 60, High: 119},
		{Item: "hdl", Value: hdl, Unit: "mg/dL", Low: 40, High: 119},
		{Item: "tg", Value: tg, Unit: "mg/dL", Low: 30, High: 149},
	}}
}

// DemoTowns are the demo's towns: 須坂市 and 南砺市 book their halls and
// gyms and keep their residents' checkups (both mynaplat's design, DR
// "not found"), 南部町 its residents' 健診 history (DR 5.1).
var DemoTowns = []demoTown{
	{ID: "suzaka", NameJA: "須坂市", NameEN: "Suzaka City", Residents: []string{"須坂　花子", "須坂　健太"},
		Checkups: map[string][]town.Year{"須坂　花子": {
			checkupYear(2021, 158.2, 54.0, 76.0, 118, 72, 5.4, 112, 68, 88),
			checkupYear(2022, 158.1, 55.6, 78.5, 124, 78, 5.5, 121, 65, 102),
			checkupYear(2023, 158.0, 57.2, 81.0, 131, 83, 5.7, 128, 61, 131),
			checkupYear(2024, 158.0, 58.4, 83.5, 136, 86, 5.9, 134, 58, 156),
			checkupYear(2025, 157.9, 56.8, 80.5, 128, 80, 5.8, 124, 62, 118),
		}},
		Facilities: []demoFacility{
			{NameJA: "須坂市文化会館 小ホール", NameEN: "Suzaka Culture Hall, small hall", Hours: []int{10, 14}, Length: 2, Capacity: 1},
			{NameJA: "須坂市体育館 卓球台", NameEN: "Suzaka Gym, table-tennis tables", Hours: []int{9, 13, 18}, Length: 2, Capacity: 4},
		}},
	{ID: "nanto", NameJA: "南砺市", NameEN: "Nanto City", Residents: []string{"井波　清"},
		Checkups: map[string][]town.Year{"井波　清": {
			checkupYear(2024, 165.0, 63.0, 86.0, 142, 88, 5.6, 118, 52, 140),
			checkupYear(2025, 164.8, 62.1, 85.0, 138, 84, 5.6, 115, 54, 126),
		}},
		Facilities: []demoFacility{
			{NameJA: "井波総合文化センター 会議室", NameEN: "Inami Cultural Centre, meeting room", Hours: []int{10, 14}, Length: 2, Capacity: 1},
		}},
	{ID: "nambu", NameJA: "南部町", NameEN: "Nambu Town", Residents: []string{"法勝寺　トメ"},
		Checkups: map[string][]town.Year{"法勝寺　トメ": {
			checkupYear(2023, 148.0, 47.5, 74.0, 146, 82, 5.8, 132, 60, 110),
			checkupYear(2024, 147.8, 46.9, 73.5, 150, 84, 5.9, 128, 61, 104),
			checkupYear(2025, 147.5, 46.2, 73.0, 144, 80, 5.9, 126, 63, 98),
		}},
		Facilities: []demoFacility{
			{NameJA: "すこやかセンター 健康教室", NameEN: "Sukoyaka Centre, health class", Hours: []int{10}, Length: 1, Capacity: 10},
		}},
}

// SeedTowns seeds the towns' residents, checkups and facilities once, with
// slots every day of the two weeks from the seeding.
func SeedTowns(ctx context.Context, cfg TownsConfig) error {
	now := cfg.Now().In(town.JST)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, town.JST)
	for _, dt := range DemoTowns {
		t := cfg.Towns.Town(dt.ID)
		done, err := t.HasResidents(ctx)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		if err := t.SetProfile(ctx, town.Profile{NameJA: dt.NameJA, NameEN: dt.NameEN}); err != nil {
			return fmt.Errorf("demo: town %s: %w", dt.ID, err)
		}
		for _, f := range dt.Facilities {
			fid, err := t.AddFacility(ctx, f.NameJA, f.NameEN)
			if err != nil {
				return fmt.Errorf("demo: town %s: %w", dt.ID, err)
			}
			for d := 1; d <= 14; d++ {
				for _, h := range f.Hours {
					start := day.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour)
					if _, err := t.AddSlot(ctx, fid, start, start.Add(time.Duration(f.Length)*time.Hour), f.Capacity); err != nil {
						return fmt.Errorf("demo: town %s: %w", dt.ID, err)
					}
				}
			}
		}
		// The residents last: a town with residents is seeded.
		for _, name := range dt.Residents {
			pid, err := holderID(ctx, cfg.Platform, cfg.Cards, name)
			if err != nil {
				return fmt.Errorf("demo: town %s: %w", dt.ID, err)
			}
			for _, y := range dt.Checkups[name] {
				if err := t.Record(ctx, pid, y); err != nil {
					return fmt.Errorf("demo: town %s: %s: %w", dt.ID, name, err)
				}
			}
			if err := t.AddResident(ctx, pid); err != nil {
				return fmt.Errorf("demo: town %s: %w", dt.ID, err)
			}
		}
	}
	return nil
}
