//! RFC 6962 tree hashing over a stream of leaves (the hashing itself is
//! `tlog_tiles`'): the root of everything pushed so far, in O(log n) memory,
//! so a verifier can recompute the log's root from the events alone and
//! compare it with the root the stored interior hashes give.

use tlog_tiles::tlog::{self, Hash};

/// The root of the leaves pushed so far.
#[derive(Debug, Clone, Default)]
pub struct RootBuilder {
    /// Perfect subtrees, largest first: (leaf count, hash).
    stack: Vec<(u64, Hash)>,
    leaves: u64,
}

impl RootBuilder {
    pub fn push(&mut self, leaf: &[u8]) {
        let mut node = (1, tlog::record_hash(leaf));
        while let Some(&(size, left)) = self.stack.last() {
            if size != node.0 {
                break;
            }
            self.stack.pop();
            node = (size * 2, tlog::node_hash(left, node.1));
        }
        self.stack.push(node);
        self.leaves += 1;
    }

    pub fn leaves(&self) -> u64 {
        self.leaves
    }

    /// The RFC 6962 root: the perfect subtrees folded right to left.
    pub fn root(&self) -> Hash {
        let mut nodes = self.stack.iter().rev();
        match nodes.next() {
            None => tlog::EMPTY_HASH,
            Some(&(_, last)) => nodes.fold(last, |right, &(_, left)| tlog::node_hash(left, right)),
        }
    }
}

/// A hash as lowercase hex.
pub fn hex(hash: &Hash) -> String {
    ::hex::encode(hash.0)
}

/// A hash from hex (as proofs travel); `None` for anything else.
pub fn from_hex(text: &str) -> Option<Hash> {
    let bytes: [u8; 32] = ::hex::decode(text).ok()?.try_into().ok()?;
    Some(Hash(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The root the slow, recursive way of RFC 6962 section 2.1.
    fn reference(leaves: &[Vec<u8>]) -> Hash {
        match leaves.len() {
            0 => tlog::EMPTY_HASH,
            1 => tlog::record_hash(&leaves[0]),
            n => {
                let k = n.next_power_of_two() / 2;
                tlog::node_hash(reference(&leaves[..k]), reference(&leaves[k..]))
            }
        }
    }

    #[test]
    fn streaming_roots_match_the_recursive_definition() {
        let leaves: Vec<Vec<u8>> = (0..300)
            .map(|n| format!("event {n}").into_bytes())
            .collect();
        let mut builder = RootBuilder::default();
        assert_eq!(builder.root(), tlog::EMPTY_HASH);
        for (n, leaf) in leaves.iter().enumerate() {
            builder.push(leaf);
            assert_eq!(builder.root(), reference(&leaves[..=n]), "{} leaves", n + 1);
        }
        assert_eq!(builder.leaves(), 300);
    }

    /// The roots of the RFC 6962 reference leaves (as in the Certificate
    /// Transparency and transparency-dev/merkle test data).
    #[test]
    fn the_certificate_transparency_reference_roots() {
        let leaves: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let mut builder = RootBuilder::default();
        for (leaf, root) in leaves.iter().zip(roots) {
            builder.push(leaf);
            assert_eq!(hex(&builder.root()), root, "{} leaves", builder.leaves());
        }
    }

    #[test]
    fn the_rfc_6962_empty_and_single_leaf_hashes() {
        // SHA-256 of the empty string, and of 0x00 || "" (RFC 6962 2.1).
        assert_eq!(
            hex(&RootBuilder::default().root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut one = RootBuilder::default();
        one.push(b"");
        assert_eq!(
            hex(&one.root()),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }
}
