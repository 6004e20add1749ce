//! The book's small scripts of chapters 1 to 5, whose numbers are deterministic: each
//! counterpart's numbers as the book's script prints them, and each figure drawn from the
//! values the script computes.

use mitbadak::figures;
use mitbadak::gradient::{gradient_descent, numerical_diff, tangent_line};
use mitbadak::layers::naive::{AddLayer, MulLayer, buy_apple_orange};
use mitbadak::nets::SimpleNet;
use mitbadak::perceptron::{and, nand, or, truth_table, xor};
use ndarray::array;

#[test]
fn the_gates_print_the_book_s_truth_tables() {
    let table = |outputs: [u8; 4]| {
        let inputs = ["(0, 0)", "(1, 0)", "(0, 1)", "(1, 1)"];
        inputs.iter().zip(outputs).map(|(x, y)| format!("{x} -> {y}\n")).collect::<String>()
    };
    assert_eq!(truth_table(and), table([0, 0, 0, 1]));
    assert_eq!(truth_table(nand), table([1, 1, 1, 0]));
    assert_eq!(truth_table(or), table([0, 1, 1, 1]));
    assert_eq!(truth_table(xor), table([0, 1, 1, 0]));
}

#[test]
fn numerical_diff_and_the_tangent_give_the_book_s_digits() {
    // gradient_1d.py prints 0.1999999999990898; the book's text also gives 0.2999999999986347 at 10
    assert_eq!(numerical_diff(figures::function_1, 5.0), 0.1999999999990898);
    assert_eq!(numerical_diff(figures::function_1, 10.0), 0.2999999999986347);
    let (slope, intercept) = tangent_line(figures::function_1, 5.0);
    // the tangent touches f at 5: f(5) = 0.75, and crosses 0 at 5 - 0.75/0.2 = 1.25
    assert!((slope * 5.0 + intercept - 0.75).abs() < 1e-12);
    assert!((intercept + 0.25).abs() < 1e-9, "intercept {intercept}");
    let (figure, printed) = figures::gradient_1d();
    assert_eq!(printed, 0.1999999999990898);
    let lines = &figure.panels[0].lines;
    assert_eq!((lines.len(), lines[0].points.len()), (2, 200)); // arange(0.0, 20.0, 0.1)
    assert_eq!(lines[0].points[50], (5.0, 0.75));
}

#[test]
fn the_gradient_field_points_to_the_minimum_and_grows_with_the_distance() {
    let field = figures::gradient_field();
    assert_eq!(field.len(), 18 * 18); // arange(-2, 2.5, 0.25) both ways
    for &(x0, x1, u, v) in &field {
        // -∇(x0² + x1²) = (-2x0, -2x1), to the central difference's rounding
        assert!((u + 2.0 * x0).abs() < 1e-6 && (v + 2.0 * x1).abs() < 1e-6, "at ({x0}, {x1}): ({u}, {v})");
    }
    let figure = figures::gradient_2d();
    assert_eq!(figure.panels[0].lines.len(), 2 * field.len()); // a shaft and a head each
    let longest = figure.panels[0].lines.iter().step_by(2).map(|l| {
        let [(a, b), (c, d)] = l.points[..] else { panic!("a shaft has two points") };
        (c - a).hypot(d - b)
    });
    assert!((longest.fold(0.0, f64::max) - 0.375).abs() < 1e-12);
}

#[test]
fn gradient_descent_follows_the_book_s_path_and_lands_at_the_minimum() {
    let (figure, x_history) = figures::gradient_method();
    assert_eq!(x_history.len(), 20);
    // each step is x - 0.1·2x = 0.8x: (-3, 4), (-2.4, 3.2), ...
    for (k, x) in x_history.iter().enumerate() {
        let expected = 0.8f64.powi(k as i32);
        assert!(
            (x[0] + 3.0 * expected).abs() < 1e-8 && (x[1] - 4.0 * expected).abs() < 1e-8,
            "step {k}: {x}"
        );
    }
    assert_eq!(figure.panels[0].lines.len(), 2 + 20);
    // the book's text: 100 steps with lr 0.1 end at [-6.11110793e-10  8.14814391e-10]
    let (x, _) = gradient_descent(figures::function_2, &array![-3.0, 4.0], 0.1, 100);
    assert!((x[0] + 6.11110793e-10).abs() < 1e-17 && (x[1] - 8.14814391e-10).abs() < 1e-17, "{x}");
    // lr 10 diverges, lr 1e-10 barely moves (the book: -2.58983747e+13 and -2.99999994)
    let (x, _) = gradient_descent(figures::function_2, &array![-3.0, 4.0], 10.0, 100);
    assert!((x[0] / -2.58983747e13 - 1.0).abs() < 1e-8, "{x}");
    let (x, _) = gradient_descent(figures::function_2, &array![-3.0, 4.0], 1e-10, 100);
    assert!((x[0] + 2.99999994).abs() < 1e-8 && (x[1] - 3.99999992).abs() < 1e-8, "{x}");
}

#[test]
fn simplenet_gives_the_book_s_prediction_loss_and_gradient() {
    let mut net = SimpleNet::book_weights();
    let (x, t) = (array![0.6, 0.9], array![0.0, 0.0, 1.0]);
    let p = net.predict(&x);
    for (got, book) in p.iter().zip([1.05414809, 0.63071653, 1.1328074]) {
        assert!((got - book).abs() < 1e-8, "{p}");
    }
    // the book prints 0.92806853663411326 (0.9280685366341133 as f64) for its weights before
    // they were rounded to the 8 decimals it shows, which move the loss by 2.5e-7
    assert!((net.loss(&x, &t) - 0.9280685366341133).abs() < 1e-6);
    assert!((net.loss(&x, &t) - 0.9280682857864075).abs() < 1e-12); // Python, on the 8 decimals
    let dw = net.numerical_gradient(&x, &t);
    assert_eq!(dw.shape(), [2, 3]);
    let book = [[0.21924763, 0.14356247, -0.36281009], [0.32887144, 0.2153437, -0.54421514]];
    for (got, want) in dw.iter().zip(book.iter().flatten()) {
        assert!((got - want).abs() < 2e-7, "{dw}"); // the 8 decimals of the weights move dW by 1e-7
    }
    assert_eq!(net.w, SimpleNet::book_weights().w, "the weights are put back after each nudge");
}

#[test]
fn the_apples_and_oranges_cost_and_differentiate_as_the_book_prints() {
    // buy_apple.py
    let (mut mul_apple_layer, mut mul_tax_layer) = (MulLayer::default(), MulLayer::default());
    let price = mul_tax_layer.forward(mul_apple_layer.forward(100.0, 2.0), 1.1);
    let (dapple_price, dtax) = mul_tax_layer.backward(1.0);
    let (dapple, dapple_num) = mul_apple_layer.backward(dapple_price);
    assert_eq!((price, dapple, dapple_num, dtax), (220.00000000000003, 2.2, 110.00000000000001, 200.0));
    assert_eq!(price as i64, 220);
    // buy_apple_orange.py: every number as Python's float arithmetic gives it
    let p = buy_apple_orange(100.0, 2.0, 150.0, 3.0, 1.1);
    assert_eq!((p.price, p.price as i64), (715.0000000000001, 715));
    assert_eq!(
        (p.dapple, p.dapple_num, p.dorange, p.dorange_num, p.dtax),
        (2.2, 110.00000000000001, 3.3000000000000003, 165.0, 650.0)
    );
    assert_eq!(format!("{}", p.dorange), "3.3000000000000003"); // as Python prints it
    assert_eq!(AddLayer.backward(1.5), (1.5, 1.5));
}

#[test]
fn chapter_1_and_3_figures_hold_the_book_s_curves_and_draw() {
    let x = figures::arange(-5.0, 5.0, 0.1);
    assert_eq!((x.len(), x[0], x[99]), (100, -5.0, 4.899999999999965)); // NumPy's arange gives the same
    let step = figures::step_function();
    let points = &step.panels[0].lines[0].points;
    assert_eq!((points[50].1, points[51].1), (0.0, 1.0)); // x = -1.8e-14 is not > 0; x = 0.1 is
    let sigmoid = figures::sigmoid();
    assert!((sigmoid.panels[0].lines[0].points[0].1 - 1.0 / (1.0 + 5f64.exp())).abs() < 1e-15);
    let relu = figures::relu();
    assert_eq!(relu.panels[0].lines[0].points[99].1, 4.899999999999965);
    assert_eq!(relu.panels[0].y_range, -1.0..5.5);
    let compare = figures::sig_step_compare();
    assert_eq!(compare.panels[0].lines.len(), 2);
    assert!(compare.panels[0].lines[1].dashed);
    let sin_cos = figures::sin_cos();
    assert_eq!(sin_cos.panels[0].lines[0].points.len(), 60);
    assert!((sin_cos.panels[0].lines[1].points[10].1 - 1f64.cos()).abs() < 1e-15);
    for figure in
        [step, sigmoid, relu, compare, sin_cos, figures::gradient_2d(), figures::gradient_method().0]
    {
        let png = mitbadak::plot::figure_png(&figure).unwrap();
        let image = image::load_from_memory(&png).unwrap();
        assert_eq!((image.width(), image.height()), figure.size);
    }
}
