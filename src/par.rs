//! Work split over every core: the whole socket table's /proc walk, the details of its
//! processes and its JSON. One helper, so each of them stays a plain function of its part.

/// `work` run on `items` cut into one part per core, each part on its own scoped thread; the
/// results come back in the parts' order. A part whose work panicked is `None` (its panic message
/// has been printed), so a caller decides what a missing part means instead of unwinding.
pub(crate) fn on_every_core<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&[T]) -> R + Sync,
) -> Vec<Option<R>> {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let part = items.len().div_ceil(cores).max(1);
    let work = &work;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(part)
            .map(|chunk| s.spawn(move || work(chunk)))
            .collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn parts_come_back_in_order_and_cover_every_item() {
        let items: Vec<u32> = (0..1001).collect();
        let sums = super::on_every_core(&items, <[u32]>::to_vec);
        let joined: Vec<u32> = sums.into_iter().flatten().flatten().collect();
        assert_eq!(joined, items);
        assert!(
            super::on_every_core::<u32, u32>(&[], |_| 1).is_empty(),
            "no items, no parts"
        );
    }
}
