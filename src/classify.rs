//! Classifying one sample: the network's class probabilities and the class it picks, the
//! same way for `mitbadak predict` and `mitbadak serve`.

use ndarray::{ArrayD, ArrayView1, IxDyn};

use crate::Error;
use crate::error::{Result, shape_str};
use crate::nets::Network;
use crate::nets::Trainable;
use crate::targets::argmax;

/// What a network says about one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// One probability per class (the softmax output), summing to 1.
    pub probabilities: Vec<f32>,
    /// The most probable class; the lowest index among equals.
    pub class: usize,
}

impl Classification {
    /// The classification of a softmax output: its most probable class, the lowest among equals.
    pub fn from_probabilities(probabilities: Vec<f32>) -> Classification {
        let class = argmax(ArrayView1::from(&probabilities));
        Classification { probabilities, class }
    }

    /// `(class, probability)` from the most probable down; equals keep their class order.
    pub fn ranked(&self) -> Vec<(usize, f32)> {
        let mut ranked: Vec<(usize, f32)> = self.probabilities.iter().copied().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked
    }
}

/// Runs `network` on one sample given as its values in row-major order (784 for MNIST).
///
/// **Errors** if the number of values is not the network's input size, naming both.
///
/// ```
/// use mitbadak::prelude::*;
/// use mitbadak::classify::classify;
///
/// let mut net = TwoLayerNet::<f32>::new(4, 3, 2, 0.1, &mut seeded_rng(0));
/// let c = classify(&mut net, vec![0.0, 0.5, 1.0, 0.25]).unwrap();
/// assert_eq!(c.probabilities.len(), 2);
/// assert!((c.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-6);
/// assert!(classify(&mut net, vec![0.0; 5]).is_err());
/// ```
pub fn classify(network: &mut dyn Network<f32>, values: Vec<f32>) -> Result<Classification> {
    let input_shape = network.input_shape();
    let got = values.len();
    let mut shape = vec![1];
    shape.extend(&input_shape);
    let x = ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|_| {
        Error::shape(
            format!("{} input", network.architecture().describe()),
            format!("one sample of shape {}", shape_str(&input_shape)),
            format!("{got} values"),
        )
    })?;
    Ok(Classification::from_probabilities(network.probabilities(&x)?.iter().copied().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranked_and_class_agree_and_ties_go_to_the_lower_class() {
        let c = Classification::from_probabilities(vec![0.1, 0.4, 0.4, 0.1]);
        assert_eq!(c.class, 1);
        assert_eq!(c.ranked(), vec![(1, 0.4), (2, 0.4), (0, 0.1), (3, 0.1)]);
        assert_eq!(Classification::from_probabilities(vec![0.2, 0.1, 0.7]).class, 2);
    }
}
