import { render } from 'preact';

import { loadConfig } from './api.js';
import { App } from './app.js';
import { BASE } from './router.js';
import './styles.css';

void loadConfig(`${BASE}config.json`).then(() => render(<App />, document.getElementById('app') as HTMLElement));
