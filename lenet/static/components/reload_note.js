() => {
  let started = null;
  try { started = localStorage.getItem('lenet5-run'); localStorage.removeItem('lenet5-run'); } catch (e) {}
  return started ? '**<span class="ico ico-stop" aria-hidden="true"></span> Your last run was stopped when the page was reloaded or closed.** A run lives in the ' +
    'page that started it; press Train to run again.' : '';
}
