// Progressive enhancement only: every action works without JavaScript.
import { initAll } from '/static/vendor/govuk-frontend/govuk-frontend.min.js'

initAll()

// "Select every item on this page": shown only with JavaScript; the boxes work without it.
const selectAll = document.getElementById('select-all')
if (selectAll) {
  selectAll.closest('.borough-select-all').hidden = false
  const boxes = document.querySelectorAll('#items input[name="item"]')
  selectAll.addEventListener('change', () => {
    boxes.forEach((box) => { box.checked = selectAll.checked })
  })
}
