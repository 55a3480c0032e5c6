# Shared by scripts/run and scripts/test: make .venv and install the project when missing or when
# pyproject.toml changed since the last install. Usage: ensure_venv [extras]
# What it prints is Swedish, like the nanolearn command that scripts/run goes on to call.
ensure_venv() {
  local extras="${1:-}"
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Nanolearn behöver Python 3.11 eller senare (hittade: $("$python" --version 2>&1)). Ange PYTHON=/sökväg/till/python3.11" >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "Skapar den virtuella miljön i .venv ..."
    "$python" -m venv .venv
  fi
  local stamp=".venv/.installed${extras:+-$extras}"
  local want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installerar Nanolearn${extras:+ med [$extras]} i .venv ..."
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
    echo "$want" > "$stamp"
  fi
}
