import Link from "next/link";

import { Counter } from "./counter";

const title = "{{ app_title }}";
const description = "{{ description }}";

export default function HomePage() {
  const renderedAt = new Date().toISOString();

  return (
    <main className="container">
      <h1>{title}</h1>
      <p className="lead">{description}</p>

      <section>
        <h2>Server component</h2>
        <p>
          This page is rendered on the server. It was generated at <code>{renderedAt}</code>{" "}
          (at build time for a static page; reload in <code>npm run dev</code> to see it change).
        </p>
      </section>

      <section>
        <h2>Client component</h2>
        <Counter />
      </section>

      <section>
        <h2>Route handler</h2>
        <p>
          <Link href="/api/health">/api/health</Link> returns JSON from <code>app/api/health/route.ts</code>.
        </p>
      </section>
    </main>
  );
}
