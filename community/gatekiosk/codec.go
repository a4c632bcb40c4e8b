package gatekiosk

import "encoding/json"

// encode and decode keep the last touch's result in the session between
// the post and the screen.
func encode(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func decode(s string, v any) error { return json.Unmarshal([]byte(s), v) }
