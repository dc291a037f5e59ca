//! Typed positions in the tree's two arenas: a `LeafId` names a leaf, a
//! `NodeId` an internal node, and a `Child` is either, as its parent's
//! height says. Each stores its arena slot plus one in a `NonZeroU32`, so
//! `Option<LeafId>` takes four bytes as well: a missing neighbour or parent
//! is `None`, never a sentinel number.

use std::fmt;
use std::num::NonZeroU32;

macro_rules! arena_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(NonZeroU32);

        impl $name {
            /// The id of arena slot `slot`.
            #[inline]
            pub(super) fn new(slot: usize) -> Self {
                let slot = u32::try_from(slot).expect("arena slot fits in u32");
                $name(NonZeroU32::MIN.checked_add(slot).expect("arena slot below u32::MAX"))
            }

            /// The arena slot this id names.
            #[inline]
            pub(super) fn slot(self) -> usize {
                (self.0.get() - 1) as usize
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.slot())
            }
        }

        /// The bare slot number, for failure messages.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.slot())
            }
        }
    };
}

arena_id!(
    /// A leaf of the content tree.
    LeafId
);
arena_id!(
    /// An internal node of the content tree.
    NodeId
);
/// A child of an internal node: a leaf when the node's height is 1, else a
/// node. Made only from a `LeafId` or a `NodeId`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Child(NonZeroU32);

/// Slot numbers, as the ids print them.
impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Child({})", self.leaf().slot())
    }
}

impl fmt::Display for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.leaf().slot())
    }
}

impl Child {
    /// Read as a leaf (the parent's height is 1).
    #[inline]
    pub(super) fn leaf(self) -> LeafId {
        LeafId(self.0)
    }

    /// Read as a node (the parent's height is above 1).
    #[inline]
    pub(super) fn node(self) -> NodeId {
        NodeId(self.0)
    }
}

impl From<LeafId> for Child {
    fn from(l: LeafId) -> Child {
        Child(l.0)
    }
}

impl From<NodeId> for Child {
    fn from(n: NodeId) -> Child {
        Child(n.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_cost_no_more_than_a_bare_u32() {
        assert_eq!(std::mem::size_of::<Option<LeafId>>(), 4);
        assert_eq!(std::mem::size_of::<Option<NodeId>>(), 4);
        assert_eq!(LeafId::new(7).slot(), 7);
        assert_eq!(Child::from(NodeId::new(3)).node(), NodeId::new(3));
    }
}
