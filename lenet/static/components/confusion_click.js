const pick = (e) => {
  const td = e.target.closest('td[data-cell]');
  if (!td) return;
  if (e.type === 'keydown' && e.key !== 'Enter' && e.key !== ' ') return;
  e.preventDefault();
  trigger('click', {cell: td.dataset.cell});
};
element.addEventListener('click', pick);
element.addEventListener('keydown', pick);
