"""The daemon's durable store: every acknowledged change survives `down`, a crash or `kill -9`.

One SQLite file, ``.ddbstream/store.sqlite3`` (mode 0600), in WAL mode with
``synchronous=NORMAL``: a commit is in the WAL file, in the OS's page cache, before the
daemon answers, and a killed process cannot take it back (FULL would also survive a power
loss, at an fsync per write; a local development stack does not need that).

What it holds (db.py):

- the **journal** (journal.py): every effect on the daemon's state, in the order it happened,
  written before the change is acknowledged: each AWS request moto answered with a success
  that may change state (http_journal.py: the request itself, replayed through moto's
  application at start), and what changes state without a request: log events written for
  workers, OnFailure messages the event source mappings send, Time to Live deletions.
  Each effect runs with moto's clock frozen and its random source seeded (context.py), and
  what moto does not make (stream sequence numbers and arrival times, shard ids, the ids of
  deleted SQS messages) is stamped: a replay reproduces the same items, stream records with
  the same sequence numbers, message ids and timestamps;
- each event source mapping's definition and checkpoint (mappings.py): mappings resume from
  their checkpoint, so records done after it are delivered again (at-least-once, as on AWS).

Reads are not journaled, nor is receiving a message: after a restart a received message
that was not deleted is visible again, as after its visibility timeout.

At start (restore.py) the journal is replayed into the empty emulator before it serves (no
mapping runs during the replay), then the mappings start. ``down`` keeps the file,
``destroy`` deletes it. A file that cannot be read (corrupt, another format) is set aside and
the daemon starts empty, saying so in its health document.

This package's __init__ imports nothing: the stream store imports context.py from it.
"""
