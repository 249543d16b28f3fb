#!/usr/bin/env bash
# The GitLab CI template's script (docs/ci/gitlab-ci.yml): `gavel deploy
# check` as GitLab reads it. The code-quality report and the JUnit report
# are written into the project directory for the job's artifacts; the log
# shows the text; the exit code is the check's (0 allowed or approved,
# 3 approval required, 4 blocked, else an error).
set -uo pipefail

: "${GAVEL_MANIFEST:?set GAVEL_MANIFEST to the manifest of the agent}"
: "${GAVEL_URL:?set GAVEL_URL to the gavel serve to ask}"
: "${GAVEL_TOKEN:?set GAVEL_TOKEN (a masked CI/CD variable: the token of a Gavel service account)}"
gavel="${GAVEL_PATH:-gavel}"
dir="${CI_PROJECT_DIR:-.}"
export GAVEL_TOKEN

ask() {
  "$gavel" --url "$GAVEL_URL" --config /dev/null deploy check "$GAVEL_MANIFEST" "$@"
}
# One decision, three readings: the log, then each report.
ask
code=$?
case "$code" in
  0 | 3 | 4) ;;
  *) exit "$code" ;;
esac
ask --format gitlab --out "$dir/gl-code-quality-report.json" || true
ask --format junit --out "$dir/gavel-junit.xml" || true
exit "$code"
