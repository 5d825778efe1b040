# Developer tasks. `make help` lists them.
.PHONY: help deps run demo test package bench bench-plugins bench-sync bench-app clean-demo

help:
	@echo "make deps    install system packages (Debian/Ubuntu)"
	@echo "make run     build and launch the desktop app (installs WebKitGTK etc. when missing)"
	@echo "make demo    the crm CLI on a sample file"
	@echo "make test    every test, plus fmt and clippy gates (installs system packages when missing)"
	@echo "make package the desktop app's .deb and the sync server's release tarball, in dist/"
	@echo "make bench   import benchmark: SQLCipher vs plain SQLite, same run"
	@echo "make bench-plugins  plugin benchmark: empty hook, lead scoring Rhai vs native"
	@echo "make bench-sync     sync benchmark: push/pull against raw PostgreSQL, own throwaway cluster"
	@echo "make bench-app      desktop app: start-up to first contacts list and RSS, 100k contacts vs empty"

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

bench-sync:
	cargo run --release --locked -p crm-sync-bench -- sync

bench-app: deps
	(cd src-ui && npm run build)
	cargo build --release --locked -p crm-desktop --bins --examples
	cargo run --release --locked -p crm-desktop --example startup-bench

clean-demo:
	rm -rf demo-data
