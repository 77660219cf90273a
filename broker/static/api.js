// api.js: renders the broker's /openapi.json as a readable page: every operation with
// its parameters, request body and responses, then the shared schemas. Plain DOM;
// every string from the document is set as text, never as HTML.
'use strict';

(function () {
  const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
  const $ = (id) => document.getElementById(id);

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    Object.assign(e, props || {});
    for (const c of children) {
      if (c !== null && c !== undefined)
        e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function refName(ref) {
    return ref.replace(/^#\/components\/schemas\//, '');
  }

  // A schema in one line: a link for a $ref, else its type and limits.
  function schemaNode(s) {
    if (!s)
      return el('span', {className: 'muted'}, 'any');
    if (s.$ref) {
      const name = refName(s.$ref);
      return el('a', {href: '#schema-' + name}, name);
    }
    const span = el('span');
    if (s.oneOf || s.anyOf) {
      (s.oneOf || s.anyOf).forEach((x, i) => {
        if (i)
          span.append(' or ');
        span.append(schemaNode(x));
      });
      return span;
    }
    if (s.type === 'array') {
      span.append('array of ', schemaNode(s.items));
    } else {
      span.append(el('code', {}, s.type || 'any'));
      if (s.format)
        span.append(` (${s.format})`);
    }
    const limits = [];
    if (s.enum)
      limits.push('one of ' + s.enum.map((v) => JSON.stringify(v)).join(', '));
    if (s.minimum !== undefined)
      limits.push('≥ ' + s.minimum);
    if (s.maximum !== undefined)
      limits.push('≤ ' + s.maximum);
    if (s.minLength !== undefined)
      limits.push('at least ' + s.minLength + ' chars');
    if (s.maxLength !== undefined)
      limits.push('at most ' + s.maxLength + ' chars');
    if (s.minItems !== undefined)
      limits.push('at least ' + s.minItems + ' items');
    if (s.maxItems !== undefined)
      limits.push('at most ' + s.maxItems + ' items');
    if (s.pattern)
      limits.push('matches ' + s.pattern);
    if (s.default !== undefined)
      limits.push('default ' + JSON.stringify(s.default));
    if (limits.length)
      span.append(', ' + limits.join(', '));
    return span;
  }

  function table(head, rows) {
    return el('table', {}, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))));
  }

  function contentTypes(content) {
    return Object.entries(content || {}).map(([type, media]) =>
      el('span', {}, el('code', {}, type), ': ', schemaNode(media.schema), ' '));
  }

  function operationId(method, path) {
    return 'op-' + method + '-' + path.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
  }

  function renderOperation(path, method, op, shared) {
    const id = operationId(method, path);
    const box = el('div', {className: 'op endpoint', id});
    box.dataset.method = method.toUpperCase();
    box.dataset.path = path;
    box.append(el('h3', {}, el('span', {className: 'method ' + method}, method.toUpperCase()),
      el('span', {className: 'path'}, path), el('span', {className: 'summary'}, op.summary || '')));
    if (op.description)
      box.append(el('p', {className: 'desc'}, op.description));
    const params = (shared || []).concat(op.parameters || []);
    if (params.length) {
      box.append(el('h4', {}, 'Parameters'));
      box.append(table(['name', 'in', 'required', 'schema', 'description'],
        params.map((p) => [el('code', {}, p.name), p.in, p.required ? 'yes' : 'no',
          schemaNode(p.schema), p.description || ''])));
    }
    if (op.requestBody) {
      box.append(el('h4', {}, 'Request body' + (op.requestBody.required ? ' (required)' : '')));
      if (op.requestBody.description)
        box.append(el('p', {className: 'desc'}, op.requestBody.description));
      box.append(el('p', {}, ...contentTypes(op.requestBody.content)));
    }
    box.append(el('h4', {}, 'Responses'));
    box.append(table(['status', 'description', 'body'],
      Object.entries(op.responses || {}).map(([code, r]) =>
        [el('code', {}, code), r.description || '', el('span', {}, ...contentTypes(r.content))])));
    return box;
  }

  function renderSchema(name, s) {
    const box = el('div', {className: 'op', id: 'schema-' + name});
    box.append(el('h3', {}, el('span', {className: 'path'}, name),
      el('span', {className: 'summary'}, s.description || '')));
    const props = Object.entries(s.properties || {});
    if (props.length) {
      const req = new Set(s.required || []);
      box.append(table(['field', 'required', 'schema', 'description'],
        props.map(([k, v]) => [el('code', {}, k), req.has(k) ? 'yes' : 'no', schemaNode(v),
          v.description || ''])));
    }
    box.append(el('details', {}, el('summary', {}, 'JSON Schema'),
      el('pre', {}, JSON.stringify(s, null, 2))));
    return box;
  }

  function render(doc) {
    const info = doc.info || {};
    document.title = (info.title || 'HTTP API') + ' — API';
    $('title').textContent = info.title || 'HTTP API';
    $('version').textContent = `version ${info.version || '?'} · OpenAPI ${doc.openapi || '?'}`;
    $('description').textContent = info.description || '';
    const toc = $('toc'), endpoints = $('endpoints');
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const method of METHODS) {
        if (!item[method])
          continue;
        const op = item[method];
        endpoints.append(renderOperation(path, method, op, item.parameters));
        toc.append(el('li', {}, el('a', {href: '#' + operationId(method, path)},
          el('span', {className: 'method ' + method}, method.toUpperCase()),
          el('span', {className: 'path'}, path))));
      }
    }
    const schemas = Object.entries((doc.components || {}).schemas || {});
    for (const [name, s] of schemas)
      $('schemas').append(renderSchema(name, s));
    $('schemas').hidden = schemas.length === 0;
    document.body.dataset.rendered = String(endpoints.querySelectorAll('.endpoint').length);
    if (location.hash) {
      const target = document.getElementById(location.hash.slice(1));
      if (target)
        target.scrollIntoView();
    }
  }

  fetch('/openapi.json', {headers: {Accept: 'application/json'}})
    .then((r) => {
      if (!r.ok)
        throw new Error(`GET /openapi.json: HTTP ${r.status}`);
      return r.json();
    })
    .then(render)
    .catch((e) => {
      $('error-text').textContent = e.message;
      $('error').hidden = false;
    });
})();
