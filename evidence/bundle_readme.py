"""Fixed texts written into every export bundle: the README and a POSIX verify script."""

README = """\
payerfleet evidence export
==========================

Selection:     {selection}
Exported at:   {exported_at} (UTC) by {actor}
Software:      payerfleet {version}
Entries:       {entries}   Artifact files: {files}   Purged traces: {purged}
Chain head at export: seq {head_seq}, entry hash {head_hash}

This bundle holds decrypted evidence (screenshots, page HTML, ARIA snapshots, downloaded
files, run metadata, event details) and the slice of the tamper-evident manifest that
describes it. It contains PHI: store and transmit it as such.

Layout
------
artifacts/<seq>-<step>-<artifact>.<ext>  the evidence files, decrypted, byte-for-byte as captured
entries/<seq>.json    the manifest entry's content exactly as hashed (canonical JSON)
entries/<seq>.link    the two lines the entry hash covers: previous entry hash, sha256 of <seq>.json
SHA256SUMS            sha256 of every file above (for .link files this IS the entry hash)
chain.tsv             seq, prev_hash, content_sha256, entry_hash for every manifest entry from the
                      first exported entry to the chain head (digests only: other records' content
                      is not disclosed)
manifest.json         the same facts in one machine-readable file
PURGED                (if present) seqs of traces removed under the retention policy
verify.sh             runs every check below with sh, sha256sum, sed, grep and cut

How the manifest works
----------------------
Every artifact and event gets an append-only manifest entry. Its hash is

    entry_hash = sha256( prev_hash + "\\n" + sha256(content) + "\\n" )

where prev_hash is the previous entry's hash (64 zeros for the first) and content is the
canonical JSON in entries/<seq>.json, which names the artifact's sha256 ("blob_sha256"),
its run, claim, work item and appeal, the checkpoint step and the capture time. Changing,
removing or reordering any entry or artifact changes a hash that a later entry covers.

How to verify (standard tools only)
-----------------------------------
    sh verify.sh

or by hand:

1. File hashes:  sha256sum -c SHA256SUMS
   Every artifact matches the hash recorded when it was captured, every entry content and
   link file matches the recorded content hash and entry hash.
2. Each entries/<seq>.link has sha256(entries/<seq>.json) as its second line, and each
   entries/<seq>.json names its artifact's sha256 in "blob_sha256":
       sed -n 2p entries/<seq>.link ; sha256sum entries/<seq>.json
       grep -o '"blob_sha256":"[0-9a-f]*"' entries/<seq>.json ; sha256sum artifacts/<seq>-*
3. The chain: for every line of chain.tsv,
       printf '%s\\n%s\\n' <prev_hash> <content_sha256> | sha256sum     equals <entry_hash>,
   and each line's prev_hash equals the entry_hash of the line before it; every exported
   entry's hash appears in chain.tsv at its seq.
4. Compare the last entry_hash in chain.tsv with a chain-head value you hold independently
   (printed by `payerfleet evidence verify`, or from an earlier export). A matching head
   means none of these records has been altered since that head was recorded.

What a custodian can certify from this
--------------------------------------
That each file here is byte-identical to what payerfleet stored at the stated time, step
and run; that its manifest entry is part of an unbroken hash chain ending at the stated head;
and, with step 4, that the chain was not rewritten after the head was recorded. The database
refuses updates and deletes of manifest rows (a guard against accidents); the hash chain is
what detects deliberate tampering by someone with database access.
"""

VERIFY_SH = """\
#!/bin/sh
# Verify this payerfleet evidence bundle with sha256sum, sed, grep and cut only.
set -u
cd "$(dirname "$0")" || exit 2
fail=0
bad() { echo "FAIL: $*"; fail=1; }

echo "1/3 file hashes"
sha256sum -c --quiet SHA256SUMS || bad "a file does not match SHA256SUMS"

echo "2/3 entries name their content and artifacts"
for link in entries/*.link; do
  seq=$(basename "$link" .link)
  [ "$(sed -n 2p "$link")" = "$(sha256sum "entries/$seq.json" | cut -d' ' -f1)" ] || bad "entry $seq: link does not name its content"
  blob=$(grep -o '"blob_sha256":"[0-9a-f]*"' "entries/$seq.json" | cut -d'"' -f4)
  [ -n "$blob" ] || continue
  if [ -f PURGED ] && grep -qx "$seq" PURGED; then continue; fi
  found=""
  for art in artifacts/"$seq"-*; do
    [ -f "$art" ] && found=$(sha256sum "$art" | cut -d' ' -f1)
  done
  [ "$found" = "$blob" ] || bad "entry $seq: artifact missing or not the one the entry names"
  [ "$(grep "^$seq	" chain.tsv | cut -f4)" = "$(sha256sum "$link" | cut -d' ' -f1)" ] || bad "entry $seq: not in chain.tsv with this hash"
done

echo "3/3 hash chain to the head"
prev_entry=""
n=0
while IFS='	' read -r seq prev csha ehash; do
  n=$((n + 1))
  [ "$(printf '%s\\n%s\\n' "$prev" "$csha" | sha256sum | cut -d' ' -f1)" = "$ehash" ] || bad "chain seq $seq: entry hash does not match"
  [ -z "$prev_entry" ] || [ "$prev" = "$prev_entry" ] || bad "chain seq $seq: does not link to seq before it"
  prev_entry=$ehash
done < chain.tsv
echo "chain entries checked: $n; head entry hash: $prev_entry"

if [ "$fail" -eq 0 ]; then echo "OK: bundle verified"; else echo "bundle FAILED verification"; fi
exit "$fail"
"""
