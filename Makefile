# The two commands of the README.
.PHONY: run test build

# run: the server on http://127.0.0.1:8080 with data in ./data (SQLite).
run:
	go run ./cmd/mynaplat serve

# test: vet and every test (installs Debian packages when run as root).
test:
	bash scripts/test.sh

build:
	go build -o bin/mynaplat ./cmd/mynaplat
