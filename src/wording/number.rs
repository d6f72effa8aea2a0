//! Counts that agree in number: "1 socket", "3 sockets", "1 process", "2 processes". Every
//! count a front prints goes through here, so none says "socket(s)".

/// The suffix `s` for any count but one ("1 socket", "0 sockets", "2 sockets").
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `n` with the noun that agrees with it: `count(1, "process", "processes")` is "1 process",
/// `count(3, "process", "processes")` is "3 processes".
#[must_use]
pub fn count<N>(n: N, one: &str, many: &str) -> String
where
    N: Copy + PartialEq + From<u8> + std::fmt::Display,
{
    format!("{n} {}", noun(n, one, many))
}

/// The noun alone that agrees with `n` ("service" for one, "services" for any other number).
#[must_use]
pub fn noun<'a, N>(n: N, one: &'a str, many: &'a str) -> &'a str
where
    N: Copy + PartialEq + From<u8>,
{
    if n == N::from(1) { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_in_number() {
        assert_eq!(count(1, "process", "processes"), "1 process");
        assert_eq!(count(0, "process", "processes"), "0 processes");
        assert_eq!(count(3usize, "machine", "machines"), "3 machines");
        assert_eq!(count(1u64, "byte", "bytes"), "1 byte");
        assert_eq!(noun(2, "service", "services"), "services");
        assert_eq!(format!("1 socket{}", plural(1)), "1 socket");
        assert_eq!(format!("2 socket{}", plural(2)), "2 sockets");
    }
}
