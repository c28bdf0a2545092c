/**
 * /openapi.json generated from the route definitions, and a plain docs page at /docs
 * that renders it without any external script (catalogs often run on closed networks).
 */
import type { App } from '../context.js';

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>VMFS Recovery Catalog API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.5rem}code{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px}
.route{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.6rem .8rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#06c}.post{color:#080}.delete{color:#b00}.put{color:#a60}
.tags{color:#777;font-size:.85rem}details pre{background:#f7f7f7;padding:.5rem;overflow:auto;font-size:.8rem}
</style></head><body>
<h1>VMFS Recovery Catalog API</h1>
<p>Every route under <code>/v1</code> takes <code>Authorization: Bearer &lt;token&gt;</code>. Errors are always
<code>{"error":{"code","message","requestId"}}</code>. Machine-readable: <a href="openapi.json">/openapi.json</a>.</p>
<div id="routes">Loading…</div>
<script>
fetch('openapi.json').then(r=>r.json()).then(spec=>{
  const root=document.getElementById('routes');root.textContent='';
  for(const [path,ops] of Object.entries(spec.paths||{})){
    for(const [method,op] of Object.entries(ops)){
      const d=document.createElement('div');d.className='route';d.dataset.route=method.toUpperCase()+' '+path;
      const h=document.createElement('div');
      const m=document.createElement('span');m.className='m '+method;m.textContent=method;
      const p=document.createElement('code');p.textContent=path;
      const t=document.createElement('span');t.className='tags';t.textContent='  '+(op.tags||[]).join(', ');
      h.append(m,p,t);d.append(h);
      if(op.summary||op.description){const s=document.createElement('p');s.textContent=op.summary||op.description;d.append(s);}
      const det=document.createElement('details');const sm=document.createElement('summary');sm.textContent='responses';
      const pre=document.createElement('pre');pre.textContent=JSON.stringify(op.responses,null,1);det.append(sm,pre);d.append(det);
      root.append(d);
    }
  }
}).catch(e=>{document.getElementById('routes').textContent='Could not load /openapi.json: '+e});
</script></body></html>`;

/** Registers /openapi.json and /docs. */
export function registerDocsRoutes(app: App, version: string): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc('/openapi.json', {
    openapi: '3.0.0',
    servers: [{ url: '/', description: 'This catalog (paths are relative to where it is served)' }],
    info: { title: 'VMFS Recovery Catalog', version, description: 'Search and restore VMFS headers, .vh.sf copies and iSCSI target configuration.' },
  });
  app.get('/docs', (c) => c.html(DOCS_HTML));
}
