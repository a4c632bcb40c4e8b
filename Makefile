# The two commands of the README.
.PHONY: run test build

# run: the server with the demo world on http://127.0.0.1:8080, data in ./data (SQLite).
run:
	go run ./cmd/mynaplat serve --demo

# test: vet and every test (installs Debian packages when run as root).
test:
	bash scripts/test.sh

build:
	go build -o bin/mynaplat ./cmd/mynaplat
