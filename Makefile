# make test: everything CI runs. make bench / make peers: the figures, see README.
GO      ?= go
PATHS   ?= generic avx2 avx512
# Each fuzz target runs a fixed number of inputs (about 10 s here), not a duration: with a
# -fuzztime duration Go 1.26's fuzz coordinator can fail a target at the deadline with
# "context deadline exceeded" and no failing input (go.dev/issue/75804, fixed in Go 1.27).
# FUZZTIME=30s (or 1000000x) overrides every target's budget.
FUZZTIME ?=
PY      ?= /usr/bin/python3
PEERS   ?= bench/peers
# The library and, in its own module (go.work joins them), the mains under cmd/.
PKGS    := ./... ./cmd/...

.PHONY: test fmt vet race purego paths fuzz check-generate generate bench peers lib cli cabi python pydeps pybench wheel wheel-test beam

test: fmt vet race purego paths fuzz check-generate cabi python wheel-test beam

# The Beam module (beam/, its own go.mod, outside go.work: see beam/doc.go), its
# tests on Prism in a loopback-only network namespace, and its fuzz targets (the readers
# write a file per input, 250-700 a second here, so they take 5000 inputs each).
beam:
	cd beam && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) test -count=1 ./...
	cd beam && for f in FuzzDecodeSums FuzzDecodeWords FuzzDecodeRow; do \
		GOWORK=off $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(or $(FUZZTIME),20000x) . || exit 1; done
	cd beam && for f in FuzzReadBlocks FuzzReadWeights FuzzReadMasked; do \
		GOWORK=off $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(or $(FUZZTIME),5000x) . || exit 1; done

# The C ABI (cmd/libsecagg/secagg.h is its header) built where the Python package looks.
LIB := python/secagg/libsecagg.so
lib:
	CGO_ENABLED=1 $(GO) build -buildmode=c-shared -trimpath -o $(LIB) ./cmd/libsecagg
	@rm -f $(LIB:.so=.h) # cgo's header; secagg.h is the contract

cli:
	$(GO) build -o bin/secagg ./cmd/secagg

# A C caller: the header compiles warning-free, bad calls fail cleanly, threads share the library.
cabi: lib
	@mkdir -p bin
	gcc -std=c11 -Wall -Wextra -Werror -O2 -pthread cmd/libsecagg/testdata/abi_test.c \
		-Lpython/secagg -lsecagg -Wl,-rpath,$(CURDIR)/python/secagg -o bin/abi_test
	bin/abi_test

# The Python package against the Go command and numpy/scipy, then the notebook example.
python: lib cli pydeps
	cd python && SECAGG_CLI=$(CURDIR)/bin/secagg $(PY) -m unittest discover -s tests -v
	PYTHONPATH=python $(PY) examples/notebook.py --small
	$(PY) secure/testdata/check_vectors.py

# The Python path's cost over a direct Go call: both in one sitting, on n100_d1m.
pybench: lib pydeps
	$(GO) test -run '^$$' -bench '^BenchmarkBlock$$' -benchtime 20x -count 3 ./bench/
	PYTHONPATH=python $(PY) python/benchmarks.py 20

# Debian's numpy and scipy, and what building and installing the package takes (PyPI is
# not reachable here): installed when missing and root.
PYPKGS := python3-numpy python3-scipy python3-setuptools python3-wheel python3-venv python3-pip python3-cryptography
pydeps:
	@$(PY) -c 'import numpy, scipy, setuptools, wheel, venv, ensurepip, pip, cryptography' 2>/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $(PYPKGS); \
		else echo "the Python tests need Debian's $(PYPKGS): sudo apt-get install -y $(PYPKGS)"; exit 1; fi; }

# A wheel with the library inside (dist/secagg-*.whl), built offline with Debian's
# setuptools and wheel.
wheel: pydeps
	rm -f dist/secagg-*.whl
	cd python && $(PY) -m pip wheel --no-build-isolation --no-deps -w ../dist .

# The wheel installed into a fresh virtual environment, and `pip install ./python` into
# another (numpy from the system's site packages, no index), each running the package's
# tests from outside the tree, so they import what was installed.
wheel-test: wheel cli
	@venv=$$(mktemp -d) && trap 'rm -rf '$$venv EXIT && \
	$(PY) -m venv --system-site-packages $$venv/wheel && \
	$$venv/wheel/bin/pip install -q --no-index --no-deps dist/secagg-*.whl && \
	$(PY) -m venv --system-site-packages $$venv/src && \
	$$venv/src/bin/pip install -q --no-index --no-deps --no-build-isolation ./python && \
	for v in wheel src; do \
		(cd $$venv && $$venv/$$v/bin/python -c 'import secagg, sys; assert "site-packages" in secagg.__file__, secagg.__file__; print(sys.argv[1], "installed:", secagg.__file__, secagg.version())' $$v && \
		SECAGG_CLI=$(CURDIR)/bin/secagg $$venv/$$v/bin/python -m unittest discover -q -s $(CURDIR)/python/tests -t $(CURDIR)/python/tests) || exit 1; \
	done

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags purego $(PKGS)

race:
	$(GO) test -race -count=1 $(PKGS)

# The pure-Go build (no assembly at all), then the whole suite once per forced path:
# SECAGG_SIMD falls back (and says so in simd.Reason) where the CPU lacks a path.
purego:
	$(GO) test -count=1 -tags purego $(PKGS)
	$(GO) test -count=1 -tags noasm ./simd/ ./aggregate/ ./trimmedmean/

paths:
	@for p in $(PATHS); do echo "SECAGG_SIMD=$$p"; SECAGG_SIMD=$$p $(GO) test -count=1 $(PKGS) || exit 1; done
	GOMAXPROCS=1 $(GO) test -count=1 ./aggregate/ ./trimmedmean/

# A short run of every fuzz target (go test -fuzz takes one target at a time).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzErrorJSON$$' -fuzztime $(or $(FUZZTIME),60000x) .
	$(GO) test -run '^$$' -fuzz '^FuzzScalarChecks$$' -fuzztime $(or $(FUZZTIME),200000x) .
	$(GO) test -run '^$$' -fuzz '^FuzzPathsAgree$$' -fuzztime $(or $(FUZZTIME),150000x) ./simd/
	$(GO) test -run '^$$' -fuzz '^FuzzOrderStatsAgree$$' -fuzztime $(or $(FUZZTIME),40000x) ./simd/
	$(GO) test -run '^$$' -fuzz '^FuzzMean$$' -fuzztime $(or $(FUZZTIME),200000x) ./aggregate/
	$(GO) test -run '^$$' -fuzz '^FuzzAggregate$$' -fuzztime $(or $(FUZZTIME),200000x) ./aggregate/
	$(GO) test -run '^$$' -fuzz '^FuzzKernels$$' -fuzztime $(or $(FUZZTIME),200000x) ./trimmedmean/
	$(GO) test -run '^$$' -fuzz '^FuzzUnmarshal$$' -fuzztime $(or $(FUZZTIME),50000x) ./trimmedmean/
	$(GO) test -run '^$$' -fuzz '^FuzzReadNpy$$' -fuzztime $(or $(FUZZTIME),25000x) ./cmd/secagg/
	$(GO) test -run '^$$' -fuzz '^FuzzRecover$$' -fuzztime $(or $(FUZZTIME),50000x) ./secure/shamir/
	$(GO) test -run '^$$' -fuzz '^FuzzWire$$' -fuzztime $(or $(FUZZTIME),100000x) ./secure/
	$(GO) test -run '^$$' -fuzz '^FuzzReadRound$$' -fuzztime $(or $(FUZZTIME),3000x) ./secure/flower/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeNpy$$' -fuzztime $(or $(FUZZTIME),50000x) ./secure/flower/
	$(GO) test -run '^$$' -fuzz '^FuzzParamsJSON$$' -fuzztime $(or $(FUZZTIME),50000x) ./secure/ddp/

# The assembly in the tree must be exactly what the generator writes.
check-generate:
	@tmp=$$(mktemp -d) && cp simd/kernels_*_amd64.* $$tmp/ && $(GO) generate ./simd/ && \
	for f in $$tmp/*; do cmp -s $$f simd/$$(basename $$f) || { echo "simd/$$(basename $$f) is stale: run make generate"; exit 1; }; done; \
	echo "generated assembly is up to date"

generate:
	$(GO) generate ./simd/

bench:
	$(GO) test -run '^$$' -bench . -benchtime 20x -count 3 ./bench/ | tee bench.txt

# The same sitting's memory bus and numpy/scipy figures, to read bench.txt against.
peers: pydeps
	gcc -O3 -march=native -ffast-math -fopenmp $(PEERS)/bandwidth.c -o /tmp/secagg-bandwidth
	/tmp/secagg-bandwidth
	gcc -O3 -march=native -fopenmp bench/peak/fma_peak.c -o /tmp/secagg-fma-peak
	/tmp/secagg-fma-peak
	$(PY) $(PEERS)/peers.py
	$(PY) $(PEERS)/noise_peers.py
