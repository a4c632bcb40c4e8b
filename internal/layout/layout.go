// Package layout is where the roles keep their files in the data directory
// (--data): the terminals' and stations' configurations, the relay's
// directory of issuance servers, operator tokens. The demo seeding writes
// these files and the roles read them, so both take the paths from here
// rather than one role reaching into the demo package.
package layout

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/mynaplat/mynaplat/terminal"
)

// TerminalsDir holds the configurations of the terminals the terminals role
// serves under /t/.
func TerminalsDir(data string) string { return filepath.Join(data, "terminals") }

// StaffDesksDir holds the configurations of the staff terminals the
// terminals role serves under /staffdesk/.
func StaffDesksDir(data string) string { return filepath.Join(data, "staffdesks") }

// OIDCTerminalDir holds the configuration of the OpenID provider's
// terminal (kind app), whose card page the oidc role serves.
func OIDCTerminalDir(data string) string { return filepath.Join(data, "oidc", "terminal") }

// TownwebKeyPath is the private key (PKCS #8 PEM) with which the town's
// web site, a relying party of the OpenID provider, signs its client
// assertions; its public key is what the operator registers.
func TownwebKeyPath(data string) string { return filepath.Join(data, "townweb", "rp-key.pem") }

// NissayKeyPath is the private key with which 日本生命's customer page, the
// second relying party of the OpenID provider, signs its client assertions.
func NissayKeyPath(data string) string { return filepath.Join(data, "nissayweb", "rp-key.pem") }

// NissayPFKeyPath is the RSA key with which 日本生命, its own platform
// operator (PF) in the demo, decrypts its signing results.
func NissayPFKeyPath(data string) string { return filepath.Join(data, "nissayweb", "pf-key.pem") }

// CardsDir holds the emulated cards.
func CardsDir(data string) string { return filepath.Join(data, "cards") }

// EndpointsPath is the kiosk relay's directory of issuance servers.
func EndpointsPath(data string) string { return filepath.Join(data, "jlis", "endpoints.json") }

// KiosksDir holds the kiosk stations' configurations.
func KiosksDir(data string) string { return filepath.Join(data, "kiosks") }

// StationsDir holds the reception and mobile stations' configurations.
func StationsDir(data string) string { return filepath.Join(data, "reception") }

// PayTerminalDir holds the configuration of the phone through which /pay/
// links a credit card.
func PayTerminalDir(data string) string { return filepath.Join(data, "eligibility", "terminal") }

// PayTerminalID is the terminal /pay/ logs in through.
const PayTerminalID = "home-sakata-1"

// PostboxTerminalID is the terminal people log in at to open their post box
// (the serve flag --postbox-terminal's default).
const PostboxTerminalID = "home-postbox-1"

// ProcureTerminalID is the terminal agents log in at to file procurement
// qualification applications (the serve flag --procure-terminal's
// default): a PC at the company, of the kind a resident's PC is.
const ProcureTerminalID = "home-procure-1"

// DeskTerminalID is the company desk's terminal (docs/procurement.md
// §5.1): the representative's own PC with a card reader, where they sign
// in to grant powers.
const DeskTerminalID = "home-desk-1"

// DeskDir is the company desk's own data directory (its representative
// key and the powers it granted): a simulated outside party's, apart from
// the platform's.
func DeskDir(data string) string { return filepath.Join(data, "desk") }

// AgentDir is the agent's procurement terminal's own data directory (the
// receipts of the bids sent from it, procureagent): the company's PC's,
// apart from the platform's and the bodies'.
func AgentDir(data string) string { return filepath.Join(data, "agent") }

// KeysPath is the file of back-office keys written when the demo world is
// seeded (mode 0600).
func KeysPath(data string) string { return filepath.Join(data, "eligibility", "demo-keys.json") }

// OperatorTokenPath is role's credential at the JPKI centre (the platform's
// and the post box's), kept when the role last ran beside the centre.
func OperatorTokenPath(data, role string) string {
	return filepath.Join(data, role, "jpki-operator.token")
}

// PayTerminal is the configuration of the /pay/ terminal, or an error
// wrapping os.ErrNotExist when there is none.
func PayTerminal(data string) (*terminal.Config, error) {
	cs, err := terminal.LoadConfigs(PayTerminalDir(data))
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.ID == PayTerminalID {
			return &c, nil
		}
	}
	return nil, os.ErrNotExist
}

// MerchantKey is the platform's merchant key at the card company as kept in
// KeysPath, or "" when there is none.
func MerchantKey(data string) string {
	b, err := os.ReadFile(KeysPath(data))
	if err != nil {
		return ""
	}
	var k struct{ CardCoMerchant string }
	if json.Unmarshal(b, &k) != nil {
		return ""
	}
	return k.CardCoMerchant
}
