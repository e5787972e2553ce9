//! Rules of the device-group tree.

use uuid::Uuid;

use crate::Invalid;

/// How many levels a tree may have below its root group.
pub const MAX_DEPTH_BELOW_ROOT: usize = 5;
/// Longest group name.
pub const MAX_NAME_LEN: usize = 255;
/// Most devices one request may add to or remove from a group.
pub const MAX_DEVICE_IDS: usize = 1000;

/// Checks that `group` may hang below `new_parent`, given the parent's ancestry (`parent_chain`:
/// the parent first, then its parent, up to the root) and the height of the group's own subtree
/// (0 for a group without children).
pub fn check_placement(
    group: Option<Uuid>,
    new_parent: Uuid,
    parent_chain: &[Uuid],
    subtree_height: usize,
) -> Result<(), Invalid> {
    if let Some(g) = group
        && (g == new_parent || parent_chain.contains(&g))
    {
        return Err(Invalid::field(
            "parent",
            "a group cannot be moved below itself or one of its descendants",
        ));
    }
    // The parent sits at depth parent_chain.len() - 1; the group one below it, its deepest
    // descendant subtree_height further down.
    let deepest = parent_chain.len() + subtree_height;
    if deepest > MAX_DEPTH_BELOW_ROOT {
        return Err(Invalid::field(
            "parent",
            format!(
                "groups nest at most {MAX_DEPTH_BELOW_ROOT} levels below a root group; this would reach level {deepest}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::new_v4()).collect()
    }

    #[test]
    fn depth_limit_counts_levels_below_the_root() {
        // A parent at depth 4 (chain of 5) takes a leaf at depth 5.
        let chain = ids(5);
        assert!(check_placement(None, chain[0], &chain, 0).is_ok());
        // A parent at depth 5 does not.
        let chain = ids(6);
        let err = check_placement(None, chain[0], &chain, 0).unwrap_err();
        assert!(err.to_string().contains("at most 5 levels"));
        // A subtree of height 2 fits below depth 2 but not below depth 3.
        let chain = ids(3);
        assert!(check_placement(Some(Uuid::new_v4()), chain[0], &chain, 2).is_ok());
        let chain = ids(4);
        assert!(check_placement(Some(Uuid::new_v4()), chain[0], &chain, 2).is_err());
    }

    #[test]
    fn cycles_are_refused() {
        let g = Uuid::new_v4();
        assert!(check_placement(Some(g), g, &[g], 0).is_err());
        let chain = vec![Uuid::new_v4(), g, Uuid::new_v4()];
        let err = check_placement(Some(g), chain[0], &chain, 1).unwrap_err();
        assert!(err.to_string().contains("below itself"));
    }
}
