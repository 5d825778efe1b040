# Developer tasks. `make help` lists them.
.PHONY: help deps run test bench bench-plugins bench-sync clean-demo

help:
	@echo "make deps    install system packages (Debian/Ubuntu)"
	@echo "make run     run the product on a sample (the crm CLI for now)"
	@echo "make test    every test, plus fmt and clippy gates"
	@echo "make bench   import benchmark: SQLCipher vs plain SQLite, same run"
	@echo "make bench-plugins  plugin benchmark: empty hook, lead scoring Rhai vs native"
	@echo "make bench-sync     sync benchmark: push/pull against raw PostgreSQL, own throwaway cluster"

deps:
	bash scripts/install-deps

run: deps
	bash scripts/demo

test:
	bash scripts/test

bench:
	cargo run --release --locked -p crm-bench -- import

bench-plugins:
	cargo run --release --locked -p crm-bench -- plugins

bench-sync:
	cargo run --release --locked -p crm-sync-bench -- sync

clean-demo:
	rm -rf demo-data
