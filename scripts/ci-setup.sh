#!/usr/bin/env bash
# CI only (CI=true): install Debian's Chromium for the browser tests, HarfBuzz's font
# subsetter for the PDFs and Orthanc (a PACS with DICOMweb) for the PACS tests, and start the machine's PostgreSQL 15 cluster with the role the suite
# uses. Never downloads a browser of its own.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v pg_ctlcluster >/dev/null || need+=(postgresql-15)
# HarfBuzz's subsetter: WeasyPrint embeds only the glyphs a PDF uses, in milliseconds instead
# of seconds (without it, fontTools does the same, slowly).
ldconfig -p | grep -q libharfbuzz-subset.so.0 || need+=(libharfbuzz-subset0)
# Orthanc with its DICOMweb plugin: the PACS the DICOMweb tests start on a free local port.
command -v Orthanc >/dev/null || need+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
pg_ctlcluster 15 main start 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -q && break; sleep 1; done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='spinepath'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE ROLE spinepath LOGIN CREATEDB PASSWORD 'spinepath'\""
echo "CI setup: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), PostgreSQL ready"
