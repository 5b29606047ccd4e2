-- Claims found due deliveries through an index on the due time alone,
-- where a claimed delivery keeps its place: at the head of the index, as
-- the earliest due. Every claim then stepped over every delivery in
-- flight (hundreds, under load) and read each one's row to see its
-- lease. Indexed by when a delivery can next be claimed, the later of its
-- due time and its lease (greatest ignores a NULL lease), a claim starts
-- at the first delivery it can take. A claim now writes an index entry
-- (it is no longer a HOT update), which costs far less than the scan.
CREATE INDEX fedihook_queue_claimable_idx ON ${s}fedihook_queue ((greatest(due, leased_until)));
DROP INDEX ${s}fedihook_queue_due_idx;
