# fieldcrypt's build. `make test` is what CI runs (.ci/run): it starts every
# service the tests need, then vets, runs the race-enabled test suite (and
# crypt's tests in its fieldcrypt_purego build), and fuzzes each decoder
# briefly.

GO       ?= go
FUZZTIME ?= 10s

.PHONY: test services vet unit fuzz bench quickstart services-down

test: services vet unit fuzz

services:
	scripts/services.sh up

services-down:
	scripts/services.sh down

vet:
	$(GO) vet ./...
	$(GO) vet -tags fieldcrypt_purego ./...

unit:
	$(GO) test -race -count=1 -timeout 30m ./...
	# Allocation bounds are checked without the race detector, which allocates.
	$(GO) test -count=1 -run 'Alloc' ./crypt/...
	# The fieldcrypt_purego build (crypt without unsafe: the only package
	# with tagged files) passes the same tests, its allocation bounds among
	# them. Without the race detector: the tag swaps how fields and strings
	# are reached, not what runs concurrently, and the default build's race
	# run above covers that.
	$(GO) test -count=1 -tags fieldcrypt_purego ./crypt/...
	# The SIGKILL-and-resume drills at full size (200k contacts on PostgreSQL,
	# and 50k with an application writer); under the race detector above
	# they run on a tenth of that.
	$(GO) test -count=1 -run 'TestKillResume' ./reencrypt/

fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./crypt/ ./crypt/blind/

quickstart:
	$(GO) run ./examples/quickstart
