// Progressive enhancement only: every action works without JavaScript.
import { initAll } from '/static/vendor/govuk-frontend/govuk-frontend.min.js'

initAll()
