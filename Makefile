# melangec: build, test, snapshots, benchmarks, fuzzing and the book.

CARGO ?= cargo
FUZZ_SECONDS ?= 60

.PHONY: all build test e2e lint golden bench fuzz book demo clean rootfs docker test-repo

# Where integration tests find BuildKit (Docker Engine's embedded one by default).
MELANGEC_TEST_BUILDKIT ?= docker:///var/run/docker.sock
export MELANGEC_TEST_BUILDKIT

all: build

build:
	$(CARGO) build --release

# The test command CI runs: unit, golden, corpus, determinism and CLI tests,
# and builds on a real BuildKit in a busybox root filesystem.
test: rootfs test-repo
	$(CARGO) fmt --all -- --check
	INSTA_UPDATE=no $(CARGO) test --workspace --locked

# Only the real Wolfi recipes (part of `test` too): netcat-openbsd,
# dns-root-hints and terser built unmodified, then installed and used, and
# Wolfi's Makefile driving melangec.
e2e: test-repo
	$(CARGO) test -p melangec --locked --test wolfi --test wolfi_makefile

# The test build environment: Debian's busybox-static in target/rootfs.
rootfs:
	.ci/rootfs target/rootfs

# A signed APK repository made from Debian packages under Wolfi's names, in
# target/test-repo (reused while Debian's versions are unchanged).
test-repo: docker
	$(CARGO) build -p melangec --locked
	MELANGEC=target/debug/melangec .ci/test-repo target/test-repo

# Docker Engine from Debian, started if it is not running.
docker:
	.ci/docker

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Re-run the snapshot tests writing *.snap.new files; review them with
# `cargo insta review` (cargo install cargo-insta) before accepting.
golden:
	INSTA_UPDATE=new $(CARGO) test -p melangec-compiler --test golden --test corpus || true
	INSTA_UPDATE=new $(CARGO) test -p melangec --lib environment::prepare || true
	@find golden -name '*.snap.new' | sed 's/^/review: /'

bench: build rootfs test-repo
	$(CARGO) bench -p melangec-compiler --bench compile
	$(CARGO) bench -p melangec --bench build
	$(CARGO) bench -p melangec --bench package
	$(CARGO) bench -p melangec --bench environment

# cargo-fuzz needs nightly features; the stable toolchain allows them here.
# Each target runs FUZZ_SECONDS from its seeds (fuzz/seeds/<target>), copied
# into a scratch corpus (fuzz/corpus/<target>, not committed) that grows
# from one run to the next. A crash is left in fuzz/artifacts/<target>.
FUZZ_TARGETS ?= compile render index apk lock
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t && cp -R fuzz/seeds/$$t/. fuzz/corpus/$$t/ && \
		(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run $$t corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -timeout=10) || exit 1; \
	done

book:
	command -v mdbook >/dev/null || $(CARGO) install mdbook --locked
	mdbook build book

# The first command of the README: set up Docker and the test environment,
# build melangec, and build a sample recipe on BuildKit into signed APKs and
# a signed index.
demo: docker build
	MELANGEC=target/release/melangec .ci/test-repo target/test-repo
	test -f target/demo/melange.rsa || ./target/release/melangec keygen target/demo/melange.rsa
	./target/release/melangec build testdata/with-subpackage.yaml \
		--repository-append target/test-repo \
		--keyring-append target/test-repo/wolfi-signing.rsa.pub \
		--workspace-dir target/demo \
		--out-dir target/demo/packages --signing-key target/demo/melange.rsa
	@ls -l target/demo/packages/x86_64

clean:
	$(CARGO) clean
