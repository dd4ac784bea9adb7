#!/usr/bin/env bash
# ensure-deps.sh: make sure the programs Podium's tests use are installed.
#
# The tests use real parts, never mocks, and never skip because a tool is
# missing: PostgreSQL server binaries (dbprovider/pgtest starts throwaway
# clusters from them), haproxy and nginx (load-balancer tests and the
# example configurations), python3 (test applications; with venv, pip and
# Debian's Flask, FastAPI, uvicorn, waitress, nbconvert and ipykernel for
# the Python runtimes tests), chromium (dashboard
# browser tests), a C compiler (go test -race needs cgo), bubblewrap (the
# content sandbox) and R with the
# packages the R runtimes and the R rsconnect client tests use (shiny,
# rmarkdown with pandoc, plumber, rsconnect, packrat).
#
# Missing packages are installed with apt-get when running as root (CI);
# otherwise the script stops and prints the command to run. Installing the
# packages must not start their services (Debian's PostgreSQL cluster on
# port 5432, nginx on port 80): the tests start their own on free ports, so
# unless the machine already has a policy-rc.d (container images do), one
# that refuses service starts is put in place for the install and removed.
#
# To add a dependency, add one `need` line below.
set -euo pipefail

# haproxy lives in /usr/sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

missing=()

# need CHECK PACKAGE...: when the shell command CHECK fails, PACKAGEs are
# queued for installation.
need() {
	local check=$1
	shift
	if ! eval "$check" >/dev/null 2>&1; then
		missing+=("$@")
	fi
}

have() { command -v "$1"; }

# PostgreSQL server binaries, looked up the way dbprovider/pgtest does.
have_pg_server() {
	local d
	if [[ -n ${PODIUM_TEST_PG_BINDIR:-} ]]; then
		[[ -x $PODIUM_TEST_PG_BINDIR/initdb ]]
		return
	fi
	d=$(pg_config --bindir 2>/dev/null) && [[ -x $d/initdb && -x $d/postgres ]] && return 0
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x $d/initdb && -x $d/postgres ]] && return 0
	done
	return 1
}

check_all() {
	missing=()
	need have_pg_server postgresql
	need "have haproxy" haproxy
	need "have nginx" nginx
	need "have python3" python3
	# Python runtimes tests (issue 16): Debian's interpreter with venv and
	# pip (environments, offline wheels), and the frameworks the test apps
	# see through the system's site-packages.
	need "/usr/bin/python3 -c 'import venv, ensurepip' && /usr/bin/python3 -m pip --version" python3-venv python3-pip
	need "/usr/bin/python3 -c 'import setuptools, wheel'" python3-setuptools python3-wheel
	need "/usr/bin/python3 -c 'import flask, fastapi, uvicorn, waitress, websockets'" \
		python3-flask python3-fastapi python3-uvicorn python3-waitress python3-websockets
	need "/usr/bin/python3 -c 'import nbconvert, nbclient, ipykernel'" python3-nbconvert python3-ipykernel
	need "have gcc" gcc libc6-dev
	# The content sandbox (internal/sandbox): bubblewrap, and setpriv and
	# prlimit from util-linux (whose taskset make bench-migrate uses to pin
	# PostgreSQL to its own core).
	need "have bwrap" bubblewrap
	need "have setpriv && have prlimit && have taskset" util-linux
	# Graphite tests: a real carbon-cache receiver, read back with whisper-fetch.
	need "have carbon-cache && have whisper-fetch" graphite-carbon
	# LDAP sign-in tests (issue 26): a private slapd started by the test,
	# with its own cn=config and a test CA; ldap-utils loads its entries.
	need "test -x /usr/sbin/slapd && have ldapadd && have ldapsearch" slapd ldap-utils
	# Dashboard browser tests (chromedp drives it; no chromedriver needed).
	need "have chromium" chromium
	# R runtimes (runtimes/rlang) and the R rsconnect client: R from
	# Debian with the packages its tests run for real.
	need "have R && have Rscript" r-base-core
	need have_r_packages r-cran-shiny r-cran-rmarkdown r-cran-plumber r-cran-rsconnect r-cran-packrat
	need "have pandoc" pandoc
}

# have_r_packages: the R packages the R tests load, in the system library.
have_r_packages() {
	local p
	for p in shiny rmarkdown plumber rsconnect packrat; do
		[[ -f /usr/lib/R/site-library/$p/DESCRIPTION ]] || return 1
	done
}

check_all
if ((${#missing[@]} == 0)); then
	echo "ensure-deps: all test dependencies present"
	exit 0
fi

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
	{
		echo "ensure-deps: missing test dependencies: ${missing[*]}"
		echo "ensure-deps: install them with:"
		echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
		echo "ensure-deps: (or run make test as root on Debian/Ubuntu, which installs them)"
	} >&2
	exit 1
fi

echo "ensure-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
	printf '#!/bin/sh\n# ensure-deps.sh: no service starts while it installs\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt_opts=(-q -o DPkg::Lock::Timeout=300)
apt-get "${apt_opts[@]}" update
apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"

check_all
if ((${#missing[@]} > 0)); then
	echo "ensure-deps: still missing after apt-get install: ${missing[*]}" >&2
	exit 1
fi
echo "ensure-deps: all test dependencies present"
