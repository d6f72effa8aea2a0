//! Descriptors refused while looking (EMFILE, ENFILE), counted per lookup: a lookup that was
//! refused one could not look everywhere, so "no process holds it" proves nothing then.

thread_local! {
    /// How many times this thread, or the workers of its lookups, was refused a descriptor
    /// (EMFILE, ENFILE) while looking up owners. A lookup during which its thread's count moved
    /// could not look everywhere, so it cannot tell "no process holds it" or "it is gone" from
    /// "we could not look" (the tool's limit, never the socket's state). Per thread, not per
    /// process: the live table's refresh and a check run at once on two threads, and one's
    /// refusals must not make the other's answer unknown.
    static STARVED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// This thread's count of refused descriptors.
pub(super) fn starved() -> usize {
    STARVED.with(std::cell::Cell::get)
}

/// Adds `n` refusals to this thread's count (those of a worker it started for its lookup).
pub(super) fn add_starved(n: usize) {
    STARVED.with(|c| c.set(c.get() + n));
}

/// Counts `errno` when it says this process (or the system) has no descriptor left.
pub(super) fn count_refusal(errno: Option<i32>) {
    if matches!(errno, Some(23 | 24)) {
        add_starved(1);
    }
}

/// `par::in_batches`, with the descriptors refused on its worker threads counted for the
/// calling thread's lookup.
pub(super) fn in_batches_counted<T: Sync, R: Send>(
    items: &[T],
    batch: usize,
    work: impl Fn(&[T]) -> R + Sync,
) -> Vec<Option<R>> {
    crate::par::in_batches(items, batch, |b| {
        let before = starved();
        let r = work(b);
        (r, starved() - before)
    })
    .into_iter()
    .map(|part| {
        part.map(|(r, refused)| {
            add_starved(refused);
            r
        })
    })
    .collect()
}
