//! Anchoring the audit log outside the database, in the manner of Certificate Transparency
//! (RFC 6962 / RFC 9162): a *checkpoint* states how many entries the log had, the hash chain's
//! head at that entry, and the root of a Merkle tree over the entries' hashes, signed (Ed25519)
//! with a key the database never holds. An administrator of the database can rewrite the log and
//! recompute every hash, but cannot make a rewritten, truncated or emptied log match a checkpoint
//! signed before; and anyone holding a checkpoint can check that an entry is in the log from a
//! short inclusion proof (hashes only, nothing of other people's entries).
//!
//! The tree is RFC 6962's: a leaf is `SHA-256(0x00 ‖ entry hash)`, a node
//! `SHA-256(0x01 ‖ left ‖ right)`, and a tree of `n` leaves splits at the largest power of two
//! below `n`. The entry hash is the chain hash the log stores (hex), as its 32 bytes.

use aws_lc_rs::digest::{Context, SHA256};
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A node of the tree.
pub type Hash = [u8; 32];

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The leaf of an entry, from its chain hash (hex). `None` when the text is not 64 hex digits.
pub fn leaf(entry_hash: &str) -> Option<Hash> {
    let bytes = hex::decode(entry_hash).ok()?;
    (bytes.len() == 32).then(|| sha256(&[&[0], &bytes]))
}

/// An inner node.
pub fn node(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[1], left, right])
}

/// The root of an empty tree.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// Computes the root of a tree while its leaves stream past, in O(log n) memory: the perfect
/// subtrees of the binary decomposition of the count so far, largest first.
#[derive(Debug, Clone, Default)]
pub struct RootBuilder {
    /// (height, root) of each perfect subtree, heights strictly decreasing.
    stack: Vec<(u32, Hash)>,
    size: u64,
}

impl RootBuilder {
    /// Adds the next leaf.
    pub fn push(&mut self, leaf: Hash) {
        let mut current = (0u32, leaf);
        while let Some(&(height, left)) = self.stack.last() {
            if height != current.0 {
                break;
            }
            self.stack.pop();
            current = (height + 1, node(&left, &current.1));
        }
        self.stack.push(current);
        self.size += 1;
    }

    /// How many leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the leaves so far (RFC 6962's MTH): the smaller subtrees on the right are
    /// joined first.
    pub fn root(&self) -> Hash {
        let mut parts = self.stack.iter().rev();
        let Some(&(_, mut root)) = parts.next() else {
            return empty_root();
        };
        for (_, left) in parts {
            root = node(left, &root);
        }
        root
    }
}

/// The root of `leaves` (MTH).
pub fn root(leaves: &[Hash]) -> Hash {
    let mut b = RootBuilder::default();
    for l in leaves {
        b.push(*l);
    }
    b.root()
}

/// The largest power of two strictly below `n` (`n` ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The inclusion proof (RFC 6962 PATH) of leaf `index` in the tree of `leaves`, or `None` when
/// the index is outside the tree.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    fn path(m: usize, d: &[Hash], out: &mut Vec<Hash>) {
        if d.len() <= 1 {
            return;
        }
        let k = split(d.len());
        if m < k {
            path(m, &d[..k], out);
            out.push(root(&d[k..]));
        } else {
            path(m - k, &d[k..], out);
            out.push(root(&d[..k]));
        }
    }
    if index >= leaves.len() {
        return None;
    }
    let mut out = Vec::new();
    path(index, leaves, &mut out);
    Some(out)
}

/// Whether `proof` shows leaf `index` (from 0) with hash `leaf` in a tree of `size` leaves with
/// root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// The first line of every checkpoint: what it is and its format's version.
const HEADER: &str = "onshi audit checkpoint v1";

/// A statement of the log at one moment: its size, the chain hash of its last entry, and the
/// Merkle root over all its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Which log: the deployment's name, so checkpoints of two deployments are not mixed.
    pub origin: String,
    /// How many entries (the last one's `seq`).
    pub size: u64,
    /// The chain hash of entry `size` (hex), or the genesis hash when empty.
    pub chain_head: String,
    /// The Merkle root over entries 1..=size (hex).
    pub root: String,
    /// When it was signed (UTC).
    pub at: OffsetDateTime,
}

/// Why a checkpoint text is not a valid checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Not in the checkpoint format.
    #[error("not a checkpoint: {0}")]
    Format(String),
    /// Signed by another key.
    #[error("signed by key {found}, not by the key given ({expected})")]
    OtherKey {
        /// The key id in the text.
        found: String,
        /// The id of the key the caller trusts.
        expected: String,
    },
    /// The signature does not match the text: altered.
    #[error("the signature does not match: the checkpoint was altered")]
    BadSignature,
}

/// A short id of a public key: the first 8 bytes of its SHA-256, hex.
pub fn key_id(public_key: &[u8]) -> String {
    hex::encode(&sha256(&[public_key])[..8])
}

impl Checkpoint {
    /// The signed part: the header, origin, size, chain head, root and time, one per line.
    pub fn body(&self) -> String {
        let at = self.at.format(&Rfc3339).unwrap_or_default();
        format!(
            "{HEADER}\n{}\n{}\n{}\n{}\n{at}\n",
            self.origin, self.size, self.chain_head, self.root
        )
    }

    /// The checkpoint signed with `key`: the body, an empty line, and `— <key id> <signature
    /// hex>`.
    pub fn sign(&self, key: &Ed25519KeyPair) -> String {
        let body = self.body();
        let signature = key.sign(body.as_bytes());
        format!(
            "{body}\n— {} {}\n",
            key_id(key.public_key().as_ref()),
            hex::encode(signature.as_ref())
        )
    }

    /// Reads a signed checkpoint and checks its signature against `public_key` (raw Ed25519).
    pub fn verify(text: &str, public_key: &[u8]) -> Result<Self, CheckpointError> {
        let format = |why: &str| CheckpointError::Format(why.to_owned());
        let (body, signature_line) = text
            .split_once("\n\n— ")
            .ok_or_else(|| format("no signature line"))?;
        let body = format!("{body}\n");
        let (id, signature) = signature_line
            .trim_end()
            .split_once(' ')
            .ok_or_else(|| format("the signature line is not '— <key id> <signature>'"))?;
        let expected = key_id(public_key);
        if id != expected {
            return Err(CheckpointError::OtherKey {
                found: id.to_owned(),
                expected,
            });
        }
        let signature = hex::decode(signature).map_err(|_| format("the signature is not hex"))?;
        UnparsedPublicKey::new(&signature::ED25519, public_key)
            .verify(body.as_bytes(), &signature)
            .map_err(|_| CheckpointError::BadSignature)?;
        let lines: Vec<&str> = body.lines().collect();
        let [header, origin, size, chain_head, root, at] = lines.as_slice() else {
            return Err(format("expected six lines before the signature"));
        };
        if *header != HEADER {
            return Err(format("unknown first line"));
        }
        Ok(Self {
            origin: (*origin).to_owned(),
            size: size
                .parse()
                .map_err(|_| format("the size is not a number"))?,
            chain_head: (*chain_head).to_owned(),
            root: (*root).to_owned(),
            at: OffsetDateTime::parse(at, &Rfc3339)
                .map_err(|_| format("the time is not RFC 3339"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf(&hex::encode(sha256(&[&i.to_be_bytes()]))).unwrap())
            .collect()
    }

    /// MTH by the RFC's recursive definition, to check the streaming builder against.
    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => {
                let k = split(n);
                node(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    #[test]
    fn the_streaming_root_is_the_rfc_root_and_every_proof_verifies() {
        for n in 0..40 {
            let l = leaves(n);
            let r = root(&l);
            assert_eq!(r, mth(&l), "size {n}");
            for i in 0..n {
                let proof = inclusion_proof(&l, i).unwrap();
                assert!(
                    verify_inclusion(&l[i], i as u64, n as u64, &proof, &r),
                    "{i}/{n}"
                );
                // Any other leaf, position, size or root fails.
                let other = leaf(&"ab".repeat(32)).unwrap();
                assert!(!verify_inclusion(&other, i as u64, n as u64, &proof, &r));
                // The proof of a smaller tree does not prove the leaf in the larger one.
                let bigger = root(&leaves(n + 1));
                assert!(!verify_inclusion(
                    &l[i],
                    i as u64,
                    n as u64 + 1,
                    &proof,
                    &bigger
                ));
                if n > 1 {
                    let j = (i + 1) % n;
                    assert!(!verify_inclusion(&l[i], j as u64, n as u64, &proof, &r));
                }
            }
            assert!(inclusion_proof(&l, n).is_none());
        }
        // RFC 6962's empty tree.
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_checkpoint_verifies_only_unaltered_and_with_its_key() {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key =
            Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref())
                .unwrap();
        let other =
            Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref())
                .unwrap();
        let c = Checkpoint {
            origin: "onshi test".into(),
            size: 42,
            chain_head: "ab".repeat(32),
            root: hex::encode(root(&leaves(42))),
            at: datetime!(2026-11-27 12:00 UTC),
        };
        let text = c.sign(&key);
        let public = key.public_key().as_ref();
        assert_eq!(Checkpoint::verify(&text, public).unwrap(), c);
        let altered = text.replace("\n42\n", "\n41\n");
        assert_eq!(
            Checkpoint::verify(&altered, public),
            Err(CheckpointError::BadSignature)
        );
        assert!(matches!(
            Checkpoint::verify(&text, other.public_key().as_ref()),
            Err(CheckpointError::OtherKey { .. })
        ));
        assert!(matches!(
            Checkpoint::verify("hello", public),
            Err(CheckpointError::Format(_))
        ));
    }
}
