# Developer tasks. `make help` lists them.
.PHONY: help deps run demo test package bench bench-plugins bench-studio bench-docs bench-compliance bench-sync bench-notify bench-catalog bench-app soak crash-loop fuzz clean-demo

help:
	@echo "make deps    install system packages (Debian/Ubuntu)"
	@echo "make run     build and launch the desktop app (installs WebKitGTK etc. when missing)"
	@echo "make demo    the crm CLI on a sample file"
	@echo "make test    every test, plus fmt and clippy gates (installs system packages when missing)"
	@echo "make package the desktop app's .deb and the sync server's release tarball, in dist/"
	@echo "make bench   import benchmark: SQLCipher vs plain SQLite, same run"
	@echo "make bench-plugins  plugin benchmark: empty hook, lead scoring Rhai vs native"
	@echo "make bench-studio   Studio benchmark: a wizard automation's dry run over 10k contacts vs the same runs for real"
	@echo "make bench-docs     documents: retrieval quality vs plain BM25, adding 1,000 files, search at 100k passages, first token"
	@echo "make bench-compliance  care compliance: the training matrix (300 staff x 40 courses, 12,000 records) vs a raw read and, in the window, vs the staff list; the evidence pack"
	@echo "make bench-sync     sync benchmark: push/pull against raw PostgreSQL, own throwaway cluster"
	@echo "make bench-notify   notice latency: an edit's commit on one device to its commit on another, 20 and 500 devices"
	@echo "make bench-catalog  plugin catalog: 200 devices, 50 plugins; unchanged pulls vs a sync with nothing new"
	@echo "make bench-app      desktop app: start-up to first contacts list and RSS, 100k contacts vs empty"
	@echo "make soak           sync server soak: 500 devices push and pull for 10 minutes; errors, p99, server RSS each minute"
	@echo "make fuzz           fuzz every target 20 minutes (CRM_FUZZ_SECONDS), two at a time, release"
	@echo "make crash-loop     crm and the sync server killed 100 times mid-import/plugin run/sync/push; integrity checked"

deps:
	bash scripts/install-deps

run:
	bash scripts/run-app

demo: deps
	bash scripts/demo

test:
	bash scripts/test

package:
	bash scripts/package

bench:
	cargo run --release --locked -p crm-bench -- import

bench-plugins:
	cargo run --release --locked -p crm-bench -- plugins

bench-studio:
	cargo run --release --locked -p crm-bench -- studio

# About half a minute on 2 cores (a minute beside a build). Quick check (100
# documents, 10,000 passages):
# DOCS_BENCH_QUICK=1 make bench-docs
bench-docs:
	cargo run --release --locked -p crm-bench -- docs

bench-compliance: deps
	cargo run --release --locked -p crm-bench -- compliance
	(cd src-ui && npm run build)
	cargo build --release --locked -p crm-desktop --bins --examples
	cargo run --release --locked -p crm-desktop --example matrix-bench

bench-sync:
	cargo run --release --locked -p crm-sync-bench -- sync

bench-notify:
	cargo run --release --locked -p crm-sync-bench -- notify

bench-catalog:
	cargo run --release --locked -p crm-sync-bench -- catalog

# Ten minutes; not part of `make test`. Quick check:
# cargo run --release --locked -p crm-sync-bench -- soak --minutes 1 --devices 50
soak:
	cargo run --release --locked -p crm-sync-bench -- soak

bench-app: deps
	(cd src-ui && npm run build)
	cargo build --release --locked -p crm-desktop --bins --examples
	cargo run --release --locked -p crm-desktop --example startup-bench

# `make test` runs the same loop small (12 kills over 20,000 rows, debug).
crash-loop: deps
	CRM_CRASH_KILLS=$${CRM_CRASH_KILLS:-100} CRM_CRASH_ROWS=$${CRM_CRASH_ROWS:-100000} \
	  cargo test --release --locked -p crm-cli --test crash_loop

# `make test` runs each target's corpus and 200 mutations of it (debug).
fuzz: deps
	CRM_FUZZ_SECONDS=$${CRM_FUZZ_SECONDS:-1200} \
	  cargo test --release --locked -p crm-fuzz --test fuzz -- --nocapture

clean-demo:
	rm -rf demo-data
