#!/usr/bin/env bash
# The GitHub Action's step (action.yml): `gavel deploy check` in GitHub's
# formats. Annotations go to the log, the summary to $GITHUB_STEP_SUMMARY,
# the outcome to the step's output `status`; the exit code is the check's
# (0 allowed or approved, 3 approval required, 4 blocked, else an error).
# When allowed, the signed approval (an in-toto attestation in a DSSE
# envelope) is written to $GAVEL_ATTESTATION and named in the output
# `attestation`, for the action to upload.
set -uo pipefail

: "${GAVEL_MANIFEST:?the manifest input is required}"
: "${GAVEL_URL:?the url input is required}"
: "${GAVEL_TOKEN:?the token input is required (a token of a Gavel service account, from a secret)}"
gavel="${GAVEL_PATH:-gavel}"
if ! command -v "$gavel" >/dev/null 2>&1; then
  echo "::error title=Gavel::no gavel binary at ${gavel}: give the action's gavel-path input"
  exit 2
fi

export GAVEL_TOKEN
"$gavel" --url "$GAVEL_URL" --config /dev/null deploy check "$GAVEL_MANIFEST" --format github
code=$?
case "$code" in
  0) status=allowed ;;
  3) status=approval_required ;;
  4) status=blocked ;;
  *) status=error ;;
esac
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "status=${status}" >> "$GITHUB_OUTPUT"
fi
if [ "$code" -eq 0 ]; then
  attestation="${GAVEL_ATTESTATION:-${RUNNER_TEMP:-.}/gavel-attestation.json}"
  if "$gavel" --url "$GAVEL_URL" --config /dev/null attest show --manifest "$GAVEL_MANIFEST" --out "$attestation" >/dev/null; then
    echo "::notice title=Gavel::signed approval written to ${attestation} (check it with gavel attest verify)"
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
      echo "attestation=${attestation}" >> "$GITHUB_OUTPUT"
    fi
  else
    echo "::warning title=Gavel::the deployment is allowed, but no signed approval could be fetched: a version is attested once requested (gavel deploy request) and allowed or approved"
  fi
fi
exit "$code"
