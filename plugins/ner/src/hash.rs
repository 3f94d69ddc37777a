//! The two MurmurHash variants spaCy and thinc index with: 64A for strings (spaCy's string ids) and
//! x64_128 of a u64 for the embedding rows (thinc's HashEmbed). Both must match bit for bit.

/// MurmurHash64A, as `murmurhash.hash64(bytes, len, seed)`.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut k = u64::from_le_bytes(block.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate().rev() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// thinc's `MurmurHash3_x86_128_uint64` (`ops.hash(ids, seed)`): despite its name, MurmurHash3_x64_128
/// of the u64's eight bytes, returned as four u32 halves.
pub fn murmur3_u64(value: u64, seed: u32) -> [u32; 4] {
    let seed = u64::from(seed);
    let mut h1 = value
        .wrapping_mul(0x87c3_7b91_1142_53d5)
        .rotate_left(31)
        .wrapping_mul(0x4cf5_ad43_2745_937f);
    h1 ^= seed ^ 8;
    let mut h2 = seed ^ 8;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    [h1 as u32, (h1 >> 32) as u32, h2 as u32, (h2 >> 32) as u32]
}

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_thinc_and_spacy() {
        // NumpyOps().hash(np.array([1, 2**63 + 5], dtype="uint64"), 8)
        assert_eq!(
            murmur3_u64(1, 8),
            [1161550108, 2247783286, 1742325162, 1224191281]
        );
        assert_eq!(
            murmur3_u64((1 << 63) + 5, 8),
            [742987760, 4031305880, 1114481640, 3899475172]
        );
        // nlp.vocab.strings.add("apple")
        assert_eq!(
            murmur3_u64(5983625672228268878, 8),
            [2726685510, 2083710382, 4090028265, 978081925]
        );
        assert_eq!(murmur64a(b"apple", 1), 8566208034543834098);
    }
}
