#!/usr/bin/env bash
# Debian packages the test suite needs, installed only when missing (CI and fresh machines).
set -euo pipefail

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need node nodejs
need npm npm
need g++ g++
need make make
need python3 python3
# The SFTP storage tests run a throwaway sshd; /usr/sbin is not on every user's PATH, so check the file.
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
# Database sources: the tests start a throwaway PostgreSQL 15 cluster (initdb, pg_dump, pg_restore,
# pgbench, all in postgresql-15) and redis-server instances; the Redis TLS test makes its certificate with openssl.
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
need psql postgresql-client-15
need redis-server redis-server
need openssl openssl
# The audit PDF export is checked by rendering it (pdftoppm) and reading its text (pdftotext).
need pdftoppm poppler-utils
# The dashboard's browser tests drive Debian's Chromium headless (playwright-core).
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The DynamoDB catalog's contract tests run DynamoDB Local, a Java program.
need java openjdk-17-jre-headless

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
