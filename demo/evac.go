package demo

import (
	"context"
	"fmt"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/platform"
)

// EvacConfig is what 美波町's evacuation part of the demo needs: the
// disaster office's service, and the platform and the cards to learn the
// members' platform IDs.
type EvacConfig struct {
	Evac     *evac.Service
	Platform *platform.Platform
	Cards    *card.Store
}

// EvacAreas are 美波町's demo areas; EvacShelters its shelters (the
// school is the shelter terminal's, shelter-minami-1, and open; the
// meeting house nearer to 日和佐 正 is closed, so his TV names the school).
var (
	EvacAreas = []evac.Area{
		{ID: "hiwasa", NameJA: "日和佐浦", NameEN: "Hiwasaura"},
		{ID: "okukawachi", NameJA: "奥河内", NameEN: "Okukawachi"},
	}
	EvacShelters = []evac.Shelter{
		{ID: "hiwasa-school", NameJA: "日和佐小学校", NameEN: "Hiwasa Elementary School", Area: "hiwasa", Open: true, Lat: 33.7385, Lon: 134.5335},
		{ID: "okukawachi-hall", NameJA: "奥河内集会所", NameEN: "Okukawachi meeting house", Area: "okukawachi", Open: false, Lat: 33.7450, Lon: 134.5260},
		{ID: "town-hall", NameJA: "美波町役場", NameEN: "Minami town hall", Area: "hiwasa", Open: true, Lat: 33.7340, Lon: 134.5420},
	}
)

// evacHouseholds are the demo's households by the members' card holder
// names: 日和佐 正 in 奥河内 (his address), whose TV is tv-minami-1.
var evacHouseholds = []struct {
	ID, Area string
	Lat, Lon float64
	Members  []string
}{
	{ID: "minami-0001", Area: "okukawachi", Lat: 33.7460, Lon: 134.5250, Members: []string{"日和佐　正"}},
}

// ShelterTerminals are the shelters' card terminals (demo.go's
// shelter-minami-1 at the school).
var ShelterTerminals = map[string]string{"shelter-minami-1": "hiwasa-school"}

// SeedEvac seeds the areas, shelters and households once, and places the
// shelters' terminals.
func SeedEvac(ctx context.Context, cfg EvacConfig) error {
	done, err := cfg.Evac.HasHouseholds(ctx)
	if err != nil {
		return err
	}
	if !done {
		if err := seedEvac(ctx, cfg); err != nil {
			return err
		}
	}
	for terminal, shelter := range ShelterTerminals {
		if err := cfg.Evac.SetShelterTerminal(ctx, terminal, shelter); err != nil {
			return fmt.Errorf("demo: evac: %w", err)
		}
	}
	return nil
}

func seedEvac(ctx context.Context, cfg EvacConfig) error {
	for _, a := range EvacAreas {
		if err := cfg.Evac.AddArea(ctx, a); err != nil {
			return fmt.Errorf("demo: evac: %w", err)
		}
	}
	for _, sh := range EvacShelters {
		if err := cfg.Evac.AddShelter(ctx, sh); err != nil {
			return fmt.Errorf("demo: evac: %w", err)
		}
	}
	for _, h := range evacHouseholds {
		hh := evac.Household{ID: h.ID, Area: h.Area, Lat: h.Lat, Lon: h.Lon}
		for _, name := range h.Members {
			pid, err := holderID(ctx, cfg.Platform, cfg.Cards, name)
			if err != nil {
				return fmt.Errorf("demo: evac %s: %w", h.ID, err)
			}
			hh.Members = append(hh.Members, evac.Member{PlatformID: pid, Name: name})
		}
		if err := cfg.Evac.AddHousehold(ctx, hh); err != nil {
			return fmt.Errorf("demo: evac: %w", err)
		}
	}
	return nil
}
