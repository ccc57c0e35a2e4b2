# Everyday recipes. None is needed for the README's commands; `just --list` shows them all.

export AUTHTOKEN_TEST_POSTGRES_URL := env_var_or_default("AUTHTOKEN_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
export AUTHTOKEN_TEST_MYSQL_URL := env_var_or_default("AUTHTOKEN_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")

# Start every service the full suite needs (Redis Cluster, Galera, NX-27017, private servers,
# the interop Python) and write the variables the tests read: see scripts/services.
services-up:
    scripts/services up

# Stop them.
services-down:
    scripts/services down

# Run every test on every backend (after services-up, none is skipped).
test:
    cargo test --workspace

# Run the tests of one backend: memory, sqlite, postgres or mysql.
test-backend backend:
    cargo test -p authtoken-tests --test {{backend}}

# Formatting, lints and docs, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# The quickstart on an embedded SQLite file.
quickstart:
    cargo run -p quickstart

# The app-schema example (i64 ids, own table names).
existing-schema:
    cargo run -p existing-schema

# The migration CLI (e.g. `just migrate status`); DATABASE_URL picks the database.
migrate *args:
    cargo run -p authtoken-migration --features cli -- {{args}}

# What CI runs.
ci:
    bash .ci/run
