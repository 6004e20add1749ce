//! The few vector operations the kernels need, for AVX-512, for AVX2 with FMA and for plain
//! scalars.
//!
//! A kernel is written once, generic over `Simd` (below), and instantiated per instruction set;
//! [`dispatch`] picks the best one the CPU has, once, or a lower one named by the environment
//! variable `MITBADAK_ISA` (`avx512`, `avx2` or `scalar`), so that every path can be measured
//! and tested on one machine.

/// A vector of `LANES` f32 and the operations the kernels use.
///
/// # Safety
/// Implementations are only called where the CPU supports their instructions (see [`dispatch`]);
/// the pointer functions read or write `LANES` (or `len`) floats that the caller guarantees exist.
pub(crate) unsafe trait Simd: Copy {
    /// The vector type.
    type V: Copy;
    /// Which lanes a partial load or store touches.
    type Mask: Copy;
    /// Floats per vector.
    const LANES: usize;
    /// All zeros.
    unsafe fn zero(self) -> Self::V;
    /// `x` in every lane.
    unsafe fn splat(self, x: f32) -> Self::V;
    /// `LANES` floats from `p`.
    unsafe fn load(self, p: *const f32) -> Self::V;
    /// Writes `LANES` floats to `p`.
    unsafe fn store(self, p: *mut f32, v: Self::V);
    /// The mask of the first `len < LANES` lanes.
    unsafe fn first_lanes(self, len: usize) -> Self::Mask;
    /// The masked floats from `p`, zeros elsewhere.
    unsafe fn load_masked(self, p: *const f32, mask: Self::Mask) -> Self::V;
    /// Writes the masked lanes of `v` to `p`. Slow on AMD's Zen: not for inner loops.
    unsafe fn store_masked(self, p: *mut f32, v: Self::V, mask: Self::Mask);
    /// `a·b + c`, fused where the CPU can.
    unsafe fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// Writes the positions (`base + lane`) of the nonzeros among the `LANES` floats at `p`
    /// to the front of `index`, and returns how many there are. May write `LANES` entries
    /// whatever the count: the buffer needs that slack.
    unsafe fn pack_nonzeros(self, p: *const f32, base: u32, index: *mut u32) -> usize;
}

/// One float at a time: the fallback for CPUs without AVX2 and other architectures.
#[derive(Clone, Copy)]
pub(crate) struct Scalar;

// SAFETY: plain scalar code runs on every CPU; pointers are read one float at a time.
unsafe impl Simd for Scalar {
    type V = f32;
    type Mask = ();
    const LANES: usize = 1;
    unsafe fn zero(self) -> f32 {
        0.0
    }
    unsafe fn splat(self, x: f32) -> f32 {
        x
    }
    unsafe fn load(self, p: *const f32) -> f32 {
        unsafe { *p }
    }
    unsafe fn store(self, p: *mut f32, v: f32) {
        unsafe { *p = v }
    }
    unsafe fn first_lanes(self, _len: usize) {}
    unsafe fn load_masked(self, _p: *const f32, _mask: ()) -> f32 {
        0.0 // a partial scalar has no lanes
    }
    unsafe fn store_masked(self, _p: *mut f32, _v: f32, _mask: ()) {}
    unsafe fn mul_add(self, a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    unsafe fn pack_nonzeros(self, p: *const f32, base: u32, index: *mut u32) -> usize {
        // branch-free: always write, advance only past a nonzero
        unsafe {
            *index = base;
            (*p != 0.0) as usize
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::Avx2;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::Simd;

    /// 8 floats per vector, fused multiply-add.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2;

    /// For each 8-bit mask, the lanes whose bit is set, packed to the front (the "left-pack"
    /// of AVX2 code): added to a group's first position, the positions of its nonzeros.
    static LEFT_PACK: [[u32; 8]; 256] = left_pack_table();

    const fn left_pack_table() -> [[u32; 8]; 256] {
        let mut table = [[0u32; 8]; 256];
        let mut mask = 0;
        while mask < 256 {
            let (mut lane, mut packed) = (0, 0);
            while lane < 8 {
                if mask & (1 << lane) != 0 {
                    table[mask][packed] = lane as u32;
                    packed += 1;
                }
                lane += 1;
            }
            mask += 1;
        }
        table
    }

    // SAFETY: only called from functions compiled with avx2 and fma enabled, chosen by
    // `dispatch` after checking that the CPU has both.
    unsafe impl Simd for Avx2 {
        type V = __m256;
        type Mask = __m256i;
        const LANES: usize = 8;
        #[inline(always)]
        unsafe fn zero(self) -> __m256 {
            unsafe { _mm256_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn splat(self, x: f32) -> __m256 {
            unsafe { _mm256_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(self, p: *const f32) -> __m256 {
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32, v: __m256) {
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn first_lanes(self, len: usize) -> __m256i {
            unsafe {
                _mm256_cmpgt_epi32(_mm256_set1_epi32(len as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
            }
        }
        #[inline(always)]
        unsafe fn load_masked(self, p: *const f32, mask: __m256i) -> __m256 {
            unsafe { _mm256_maskload_ps(p, mask) }
        }
        #[inline(always)]
        unsafe fn store_masked(self, p: *mut f32, v: __m256, mask: __m256i) {
            unsafe { _mm256_maskstore_ps(p, mask, v) }
        }
        #[inline(always)]
        unsafe fn mul_add(self, a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn pack_nonzeros(self, p: *const f32, base: u32, index: *mut u32) -> usize {
            unsafe {
                let zero = _mm256_cmp_ps::<_CMP_EQ_OQ>(_mm256_loadu_ps(p), _mm256_setzero_ps());
                let mask = !(_mm256_movemask_ps(zero) as u32) & 0xFF;
                // most groups of 8 pixels are blank: skipping them beats writing nothing
                if mask == 0 {
                    return 0;
                }
                let lanes = _mm256_loadu_si256(LEFT_PACK[mask as usize].as_ptr().cast());
                _mm256_storeu_si256(index.cast(), _mm256_add_epi32(lanes, _mm256_set1_epi32(base as i32)));
                mask.count_ones() as usize
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::Avx512;

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::Simd;

    /// 16 floats per vector, fused multiply-add, masked loads and stores, and 32 registers.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512;

    // SAFETY: only called from functions compiled with avx512f (and avx2, fma) enabled, chosen
    // by `dispatch` after checking that the CPU has them.
    unsafe impl Simd for Avx512 {
        type V = __m512;
        type Mask = __mmask16;
        const LANES: usize = 16;
        #[inline(always)]
        unsafe fn zero(self) -> __m512 {
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn splat(self, x: f32) -> __m512 {
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(self, p: *const f32) -> __m512 {
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32, v: __m512) {
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn first_lanes(self, len: usize) -> __mmask16 {
            ((1u32 << len) - 1) as __mmask16
        }
        #[inline(always)]
        unsafe fn load_masked(self, p: *const f32, mask: __mmask16) -> __m512 {
            unsafe { _mm512_maskz_loadu_ps(mask, p) }
        }
        #[inline(always)]
        unsafe fn store_masked(self, p: *mut f32, v: __m512, mask: __mmask16) {
            unsafe { _mm512_mask_storeu_ps(p, mask, v) }
        }
        #[inline(always)]
        unsafe fn mul_add(self, a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn pack_nonzeros(self, p: *const f32, base: u32, index: *mut u32) -> usize {
            unsafe {
                let mask = _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(_mm512_loadu_ps(p), _mm512_setzero_ps());
                // most groups of 16 pixels are blank: skipping them beats writing nothing
                if mask == 0 {
                    return 0;
                }
                let lanes = _mm512_add_epi32(
                    _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                    _mm512_set1_epi32(base as i32),
                );
                // the positions of the set lanes, packed to the front (the full 16 are written)
                _mm512_storeu_si512(index.cast(), _mm512_maskz_compress_epi32(mask, lanes));
                mask.count_ones() as usize
            }
        }
    }
}

/// The instruction sets a kernel can run on, from the widest down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Plain scalar code.
    Scalar,
    /// AVX2 with FMA (and POPCNT, which every AVX2 CPU has).
    Avx2,
    /// AVX-512 (Foundation), with AVX2 and FMA.
    Avx512,
}

impl Isa {
    /// The name `MITBADAK_ISA` takes.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Every instruction set this CPU can run, the plain one first: the levels tests hold
    /// against each other.
    pub fn available() -> Vec<Isa> {
        [Isa::Scalar, Isa::Avx2, Isa::Avx512].into_iter().filter(|&isa| isa <= best_on_this_cpu()).collect()
    }
}

/// The widest instruction set this CPU has.
fn best_on_this_cpu() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("popcnt");
        if avx2 && is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        if avx2 {
            return Isa::Avx2;
        }
    }
    Isa::Scalar
}

/// The instruction set the kernels run on, chosen once: the widest this CPU has, or the
/// lower one that the environment variable `MITBADAK_ISA` names (`avx512`, `avx2`, `scalar`),
/// so that each path can be measured on one machine. A level above the CPU's, or a name it
/// does not know, is not taken: the CPU's best is, with a word on standard error.
///
/// The dense products of the `gemm` crate choose their own kernels the same way (AVX-512
/// where the CPU has it) and do not follow this variable.
pub fn dispatch() -> Isa {
    static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    *ISA.get_or_init(|| {
        let best = best_on_this_cpu();
        let Some(asked) = std::env::var_os("MITBADAK_ISA") else { return best };
        let asked = asked.to_string_lossy();
        match [Isa::Scalar, Isa::Avx2, Isa::Avx512].into_iter().find(|isa| isa.name() == asked) {
            Some(isa) if isa <= best => isa,
            Some(isa) => {
                eprintln!("MITBADAK_ISA={asked}: this CPU has no {}; running on {}", isa.name(), best.name());
                best
            }
            None => {
                eprintln!(
                    "MITBADAK_ISA={asked}: expected avx512, avx2 or scalar; running on {}",
                    best.name()
                );
                best
            }
        }
    })
}

/// Runs `loops` compiled for `isa`: plain loops, written once, that the compiler turns into
/// vector code as wide as `isa`'s (16 `f32` at a time with AVX-512, 8 with AVX2, 4 in the
/// portable build). `loops` must be an `#[inline(always)]` closure, so that it is inlined into
/// the function built for `isa`, with the `#[inline(always)]` functions it calls: one left to
/// the compiler's choice can stay a call, compiled for the portable target (SimpleConvNet's
/// pooling loop did).
///
/// **Panics** if this CPU cannot run `isa`.
#[inline(always)]
pub(crate) fn compiled_for<R>(isa: Isa, loops: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma,popcnt")]
    fn avx512<R>(loops: impl FnOnce() -> R) -> R {
        loops()
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,popcnt")]
    fn avx2<R>(loops: impl FnOnce() -> R) -> R {
        loops()
    }
    assert!(isa <= best_on_this_cpu(), "compiled_for: this CPU cannot run {isa:?}");
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has what best_on_this_cpu() found, and isa is at most that
        Isa::Avx512 => unsafe { avx512(loops) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above
        Isa::Avx2 => unsafe { avx2(loops) },
        _ => loops(),
    }
}

/// Appends the positions and values of the nonzero bytes of `bytes` (an image's pixels).
/// With AVX2, 32 bytes are checked at a time, and only their nonzeros are visited.
///
/// **Panics** if `bytes` is longer than 65,536 (positions are 16 bits).
pub(crate) fn nonzero_bytes(bytes: &[u8], positions: &mut Vec<u16>, values: &mut Vec<u8>) {
    assert!(bytes.len() <= 1 << 16, "nonzero_bytes: {} bytes do not fit 16-bit positions", bytes.len());
    match dispatch() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: dispatch() found avx2 and popcnt on this CPU (every AVX-512 CPU has them).
        Isa::Avx2 | Isa::Avx512 => unsafe { nonzero_bytes_avx2(bytes, positions, values) },
        _ => nonzero_bytes_from(0, bytes, positions, values),
    }
}

fn nonzero_bytes_from(start: usize, bytes: &[u8], positions: &mut Vec<u16>, values: &mut Vec<u8>) {
    for (p, &v) in bytes.iter().enumerate().skip(start) {
        if v != 0 {
            positions.push(p as u16);
            values.push(v);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,popcnt")]
unsafe fn nonzero_bytes_avx2(bytes: &[u8], positions: &mut Vec<u16>, values: &mut Vec<u8>) {
    use std::arch::x86_64::*;
    let full = bytes.len() / 32 * 32;
    for group in (0..full).step_by(32) {
        // SAFETY: group + 32 <= bytes.len()
        let mut mask = unsafe {
            let zero = _mm256_cmpeq_epi8(
                _mm256_loadu_si256(bytes.as_ptr().add(group).cast()),
                _mm256_setzero_si256(),
            );
            !(_mm256_movemask_epi8(zero) as u32)
        };
        while mask != 0 {
            let p = group + mask.trailing_zeros() as usize;
            positions.push(p as u16);
            values.push(bytes[p]);
            mask &= mask - 1;
        }
    }
    nonzero_bytes_from(full, bytes, positions, values);
}

/// Asks the CPU to bring the memory of `data` into its caches, to be read soon: the images of
/// a random mini-batch lie anywhere in 32 MB, and each one fetched only when it is read makes
/// the batch wait on memory (a hint: it changes no result, and does nothing off x86-64).
pub(crate) fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let bytes = std::mem::size_of_val(data);
        for offset in (0..bytes).step_by(64) {
            // SAFETY: a prefetch reads nothing and cannot fault; the address is within `data`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(data.as_ptr().cast::<i8>().add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}
