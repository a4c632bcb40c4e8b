package jlis

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mynaplat/mynaplat/internal/fileutil"
)

// The relay's directory of issuance servers is a JSON file (mode 0600: it
// holds the relay keys the municipalities issued):
//
//	{"062049": {"base_url": "https://sakata.example", "key": "muni_relay_…"}, …}
//
// An empty base_url means the issuance server runs in this process.

// SaveEndpoints writes the directory of issuance servers.
func SaveEndpoints(path string, eps map[string]Endpoint) error {
	return fileutil.WriteJSON(path, eps)
}

// LoadEndpoints reads the directory of issuance servers; a missing file is
// an empty directory. Servers without a base URL get local.
func LoadEndpoints(path, local string) (map[string]Endpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Endpoint{}, nil
	}
	if err != nil {
		return nil, err
	}
	var eps map[string]Endpoint
	if err := json.Unmarshal(b, &eps); err != nil {
		return nil, fmt.Errorf("jlis: %s: %w", path, err)
	}
	for code, e := range eps {
		if e.BaseURL == "" {
			e.BaseURL = local
			eps[code] = e
		}
	}
	if eps == nil {
		eps = map[string]Endpoint{}
	}
	return eps, nil
}
