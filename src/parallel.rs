//! The one way topolint splits plain loops over two cores: a slice cut in two halves, the second
//! on a scoped helper thread, the results joined in order. Which thread does what never shows
//! in the result.

/// `f` over `items`, cut in two halves that run at once when there are at least `min` items,
/// the results concatenated in the order of the items. One thread below `min`, or when no
/// helper thread can be started.
pub fn in_halves<'a, I, T, F>(items: &'a [I], min: usize, f: F) -> Vec<T>
where
    I: Sync,
    T: Send,
    F: Fn(&'a [I]) -> Vec<T> + Sync,
{
    if items.len() < min.max(2) {
        return f(items);
    }
    in_two(items, items.len() / 2, f)
}

/// `f` over `items[..at]` here and `items[at..]` on a helper thread at once, the results
/// concatenated in the order of the items (on this thread alone when no helper can be started).
pub fn in_two<'a, I, T, F>(items: &'a [I], at: usize, f: F) -> Vec<T>
where
    I: Sync,
    T: Send,
    F: Fn(&'a [I]) -> Vec<T> + Sync,
{
    let (first, second) = items.split_at(at.min(items.len()));
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .spawn_scoped(scope, || f(second))
            .ok();
        let mut out = f(first);
        match helper.map(|h| h.join()) {
            Some(Ok(more)) => out.extend(more),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => out.extend(f(second)),
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::in_halves;

    #[test]
    fn halves_give_what_one_pass_gives_in_order() {
        let items: Vec<u32> = (0..1001).collect();
        let twice = |part: &[u32]| part.iter().map(|i| i * 2).collect::<Vec<_>>();
        let one = in_halves(&items, usize::MAX, twice);
        assert_eq!(one, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(in_halves(&items, 10, twice), one);
        assert_eq!(in_halves(&items[..1], 0, twice), vec![0]);
        assert!(in_halves(&items[..0], 0, twice).is_empty());
    }

    #[test]
    fn the_helper_really_takes_the_second_half() {
        let items: Vec<u32> = (0..100).collect();
        let threads = in_halves(&items, 2, |part| {
            vec![(part[0], std::thread::current().id())]
        });
        assert_eq!(threads.len(), 2);
        assert_eq!((threads[0].0, threads[1].0), (0, 50));
        assert_ne!(threads[0].1, threads[1].1);
    }
}
