// The draw-a-digit page: the canvas is sent to the server as a PNG while one draws, and the
// server answers with the class probabilities and the 28x28 input it made of the drawing
// (the preprocessing lives in one place: the server's, the same as `mitbadak predict`).
'use strict';

const pad = document.getElementById('pad');
const pen = pad.getContext('2d');
const inputView = document.getElementById('input');
const predicted = document.getElementById('predicted');
const bars = document.getElementById('bars');
const statusLine = document.getElementById('status');

/** Stroke width on the 280x280 canvas: MNIST's strokes are 2 to 3 pixels of 28. */
const INK_WIDTH = 20;
/** At most one request per this many milliseconds while drawing, and one at a time. */
const THROTTLE_MS = 80;
/** What the run's figures show, by the names `GET /api/model` gives them. */
const CURVE_CAPTIONS = {
  accuracy: 'accuracy per epoch: train solid, test dashed',
  loss: 'loss per iteration',
};

// Every change of the drawing gets a new version; `data-version` and `data-shown` on <body>
// tell which drawing the display is of (a test waits for them to be equal).
let version = 0;
let clearedAt = 0;
let inFlight = false;
let timer = null;
let lastSent = -Infinity;
let lastPoint = null;

function setVersion(next) {
  version = next;
  document.body.dataset.version = String(version);
}

function setShown(shown) {
  document.body.dataset.shown = String(shown);
}

function blankPad() {
  pen.fillStyle = '#000';
  pen.fillRect(0, 0, pad.width, pad.height);
}

function makeBars(classes) {
  bars.replaceChildren();
  for (let k = 0; k < classes; k++) {
    const row = document.createElement('li');
    row.dataset.class = String(k);
    row.innerHTML = `<span class="label">${k}</span><span class="bar"><span class="fill"></span></span>`
      + '<span class="value">–</span>';
    bars.append(row);
  }
}

function showNothing() {
  predicted.textContent = '–';
  predicted.classList.remove('none');
  for (const row of bars.children) {
    row.classList.remove('top');
    row.querySelector('.fill').style.width = '0';
    row.querySelector('.value').textContent = '–';
  }
  const view = inputView.getContext('2d');
  view.fillStyle = '#000';
  view.fillRect(0, 0, inputView.width, inputView.height);
}

function show(answer) {
  if (answer.class === null) {
    // the server found no digit in the drawing: no class, no probabilities
    showNothing();
    predicted.textContent = 'no digit found';
    predicted.classList.add('none');
    return;
  }
  predicted.classList.remove('none');
  if (bars.children.length !== answer.probabilities.length) makeBars(answer.probabilities.length);
  predicted.textContent = String(answer.class);
  answer.probabilities.forEach((p, k) => {
    const row = bars.children[k];
    row.classList.toggle('top', k === answer.class);
    row.querySelector('.fill').style.width = `${(p * 100).toFixed(2)}%`;
    // the exact value, rounded as `mitbadak predict` prints it
    row.querySelector('.value').textContent = p.toFixed(4);
  });
  const view = inputView.getContext('2d');
  const image = view.createImageData(inputView.width, inputView.height);
  answer.input.forEach((v, i) => {
    const level = Math.round(v * 255);
    image.data.set([level, level, level, 255], i * 4);
  });
  view.putImageData(image, 0, 0);
}

function schedule() {
  if (inFlight || timer !== null) return;
  const wait = Math.max(0, lastSent + THROTTLE_MS - performance.now());
  timer = setTimeout(() => {
    timer = null;
    send();
  }, wait);
}

async function send() {
  inFlight = true;
  lastSent = performance.now();
  const sent = version;
  try {
    const png = await new Promise((resolve) => pad.toBlob(resolve, 'image/png'));
    const response = await fetch('/api/predict', {
      method: 'POST',
      headers: { 'Content-Type': 'image/png' },
      body: png,
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || `the server answered ${response.status}`);
    if (sent > clearedAt) {
      show(answer);
      setShown(sent);
      statusLine.textContent = '';
    }
  } catch (error) {
    statusLine.textContent = `Could not read the drawing: ${error.message}`;
  } finally {
    inFlight = false;
    if (version !== sent && version !== clearedAt) schedule();
  }
}

// The drawing changed: by a stroke, or by a program that painted on the canvas.
pad.addEventListener('drawn', () => {
  setVersion(version + 1);
  schedule();
});

function pointOf(event) {
  const box = pad.getBoundingClientRect();
  return {
    x: ((event.clientX - box.left) * pad.width) / box.width,
    y: ((event.clientY - box.top) * pad.height) / box.height,
  };
}

function stroke(from, to) {
  pen.strokeStyle = '#fff';
  pen.lineWidth = INK_WIDTH;
  pen.lineCap = 'round';
  pen.lineJoin = 'round';
  pen.beginPath();
  pen.moveTo(from.x, from.y);
  pen.lineTo(to.x, to.y);
  pen.stroke();
  pad.dispatchEvent(new Event('drawn'));
}

// Pointer events cover the mouse, a finger and a pen alike.
pad.addEventListener('pointerdown', (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  lastPoint = pointOf(event);
  stroke(lastPoint, lastPoint);
});

pad.addEventListener('pointermove', (event) => {
  if (lastPoint === null) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const each of events.length > 0 ? events : [event]) {
    const point = pointOf(each);
    stroke(lastPoint, point);
    lastPoint = point;
  }
});

for (const type of ['pointerup', 'pointercancel']) {
  pad.addEventListener(type, () => {
    lastPoint = null;
  });
}

document.getElementById('clear').addEventListener('click', () => {
  blankPad();
  setVersion(version + 1);
  clearedAt = version;
  setShown(version);
  showNothing();
  statusLine.textContent = '';
});

function fact(term, value) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  return [dt, dd];
}

async function describeModel() {
  const facts = document.getElementById('model-facts');
  try {
    const response = await fetch('/api/model');
    const model = await response.json();
    if (!response.ok) throw new Error(model.error);
    const m = model.metadata;
    const rows = [fact('architecture', model.architecture)];
    if (model.test_accuracy !== null) {
      rows.push(fact('test accuracy', `${(model.test_accuracy * 100).toFixed(2)}%`));
    }
    const training = [
      m.iterations && `${m.iterations} iterations`,
      m.optimizer,
      m.batch_size && `batch ${m.batch_size}`,
      m.seed && `seed ${m.seed}`,
    ].filter(Boolean);
    if (training.length > 0) rows.push(fact('trained', training.join(', ')));
    rows.push(fact('file', model.file));
    facts.replaceChildren(...rows.flat());
    if (bars.children.length !== model.classes) makeBars(model.classes);
    const curves = document.getElementById('curves');
    for (const [name, url] of Object.entries(model.curves)) {
      const figure = document.createElement('figure');
      const img = document.createElement('img');
      img.src = url;
      img.alt = CURVE_CAPTIONS[name] ?? name;
      // the figure at full size, a tap away (a phone shows it smaller)
      const full = document.createElement('a');
      full.href = url;
      full.append(img);
      const caption = document.createElement('figcaption');
      caption.textContent = img.alt;
      figure.append(full, caption);
      curves.append(figure);
    }
  } catch (error) {
    facts.replaceChildren(...fact('error', `could not describe the model: ${error.message}`));
  }
}

blankPad();
makeBars(10);
showNothing();
describeModel();
