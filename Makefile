# melangec: build, test, snapshots, benchmarks, fuzzing and the book.

CARGO ?= cargo
FUZZ_SECONDS ?= 60

.PHONY: all build test lint golden bench fuzz book demo clean

all: build

build:
	$(CARGO) build --release

# The test command CI runs: unit, golden, corpus, determinism and CLI tests.
test:
	$(CARGO) fmt --all -- --check
	INSTA_UPDATE=no $(CARGO) test --workspace --locked

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Re-run the snapshot tests writing *.snap.new files; review them with
# `cargo insta review` (cargo install cargo-insta) before accepting.
golden:
	INSTA_UPDATE=new $(CARGO) test --workspace --test golden --test corpus || true
	@find golden -name '*.snap.new' | sed 's/^/review: /'

bench:
	$(CARGO) bench -p melangec-compiler --bench compile

# cargo-fuzz needs nightly features; the stable toolchain allows them here.
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run compile -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run render -- -max_total_time=$(FUZZ_SECONDS)

book:
	command -v mdbook >/dev/null || $(CARGO) install mdbook --locked
	mdbook build book

# The first command of the README: build melangec and compile a sample.
demo: build
	mkdir -p target/demo
	./target/release/melangec compile testdata/simple.yaml -o target/demo/simple.llb
	./target/release/melangec render target/demo/simple.llb
	@echo "wrote target/demo/simple.llb (feed it to: buildctl build < target/demo/simple.llb)"

clean:
	$(CARGO) clean
