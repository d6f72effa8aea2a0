//! Work split over every core: the whole socket table's /proc walk, the details of its
//! processes and its JSON. One helper, so each of them stays a plain function of its batch.

/// The cores this process may use (2 when the OS does not say). Asked once: on Linux the
/// answer reads the cgroup's CPU quota (four files), which cost more than a small lookup's
/// whole /proc walk when asked per process.
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
}

/// `work` run on batches of `batch` items, which every core takes one after another until none
/// is left; the results come back in the batches' order (`None` for a batch whose work
/// panicked). A core slowed by other work (the socket dumps running beside the /proc walk)
/// takes fewer batches instead of holding everyone up at the end; a batch of
/// `len.div_ceil(cores())` is one part per core.
pub(crate) fn in_batches<T: Sync, R: Send>(
    items: &[T],
    batch: usize,
    work: impl Fn(&[T]) -> R + Sync,
) -> Vec<Option<R>> {
    let batches: Vec<&[T]> = items.chunks(batch.max(1)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (work, batches, next) = (&work, &batches, &next);
    let mut done: Vec<(usize, Option<R>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores().min(batches.len()))
            .map(|_| {
                s.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(b) = batches.get(i) else { break };
                        // One batch's panic loses that batch only.
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(b)));
                        mine.push((i, r.ok()));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .flatten()
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn batches_come_back_in_order_and_cover_every_item() {
        let items: Vec<u32> = (0..1001).collect();
        let parts = super::in_batches(&items, 7, <[u32]>::to_vec);
        assert_eq!(parts.len(), 1001_usize.div_ceil(7));
        let joined: Vec<u32> = parts.into_iter().flatten().flatten().collect();
        assert_eq!(joined, items);
        assert!(super::in_batches::<u32, u32>(&[], 7, |_| 1).is_empty());
    }
}
