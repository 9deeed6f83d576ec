// The record button of ser_utils.explorer.Recorder (an anywidget): records the microphone for `seconds`,
// decodes the recording with Web Audio, mixes it to mono and sends the float32 samples to the kernel.

async function record(seconds) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  try {
    const recorder = new MediaRecorder(stream);
    const chunks = [];
    recorder.ondataavailable = (event) => chunks.push(event.data);
    const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
    recorder.start();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    recorder.stop();
    await stopped;
    return new Blob(chunks, { type: recorder.mimeType });
  } finally {
    stream.getTracks().forEach((track) => track.stop());
  }
}

async function decodeToMono(blob) {
  const context = new AudioContext();
  try {
    const decoded = await context.decodeAudioData(await blob.arrayBuffer());
    const mono = new Float32Array(decoded.length);
    for (let channel = 0; channel < decoded.numberOfChannels; channel++) {
      const samples = decoded.getChannelData(channel);
      for (let i = 0; i < samples.length; i++) mono[i] += samples[i] / decoded.numberOfChannels;
    }
    return { mono, rate: decoded.sampleRate };
  } finally {
    context.close();
  }
}

function render({ model, el }) {
  const button = document.createElement("button");
  button.className = "ser-record jupyter-button";
  button.textContent = `● Record ${model.get("seconds")} s`;
  const status = document.createElement("span");
  status.className = "ser-record-status";
  status.style.marginLeft = "1em";
  const showStatus = () => { status.textContent = model.get("status"); };
  model.on("change:status", showStatus);
  showStatus();
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "recording: speak now…";
    try {
      const { mono, rate } = await decodeToMono(await record(model.get("seconds")));
      if (mono.length === 0) throw new Error("the browser recorded nothing");
      model.set("sample_rate", rate);
      model.set("recording", new DataView(mono.buffer));
      model.set("take", model.get("take") + 1);
      model.set("status", "answering…");
      model.save_changes();
    } catch (error) {
      status.textContent = `could not record: ${error.message} (allow the microphone, or use ser predict on a file)`;
    } finally {
      button.disabled = false;
    }
  });
  el.append(button, status);
}

export default { render };
