"""Write the shipped sample corpus `data/raw/sample/` (invented articles, written for the project).

    python data/raw/make_sample.py

Every article below is fiction written for this project; the noise around it (menus, share
widgets, comment forms, bylines, captions, mojibake …) imitates what scrapers pick up. A few
scraper-style JSONL records come from `pipeline.sample` (seeded). The output is deterministic:
gzip files are written with mtime 0, and nothing depends on the clock.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))


EN = [
    ("Port Alden council approves ‘harbour wall’ after decade of floods", "Maria Okafor", "PORT ALDEN (AP) —", [
        "The Port Alden town council voted 7-2 on Tuesday to build a concrete harbour wall, ending a decade-long argument over how to protect the old fishing quarter from winter floods.",
        "The wall, which will run 1.4 kilometres along the eastern quay, is expected to cost 38 million dollars. Most of the money will come from a state resilience fund, the council's finance officer, Derek Hollis, told reporters after the vote.",
        "“We have pumped water out of these basements for ten winters in a row,” said Councillor Ana Ferreira, who proposed the motion. “Today we finally stop talking and start building.”",
        "Opponents argued that the wall would cut the quarter off from the sea. Ferreira rejected that view. “Nobody is cutting anyone off,” she said. “There will be six gates and a public walkway on top.”",
        "The Port Alden Fishermen's Association (PAFA) welcomed the decision but asked for compensation during construction. According to the association, about 40 boats use the eastern quay every day.",
        "Work is scheduled to begin in the spring and to last three years, the council said in a statement.",
    ]),
    ("Regional rail strike halts commuter trains for second day", "James Whitlock", None, [
        "Commuter trains across the northern region stood still for a second day on Wednesday as drivers continued a strike over pay and rest periods.",
        "The Rail Drivers' Union (RDU) said talks with the operator had broken down late on Tuesday. Its general secretary, Helen Marsh, told Reuters that members would not return “until the company puts a serious offer on the table.”",
        "The operator, Northline Rail, said the union's demands would add 60 million dollars a year to its costs. “We want an agreement, but it has to be one we can pay for,” a spokesman said.",
        "Roads into the regional capital were jammed from early morning. Local radio reported queues of more than 20 kilometres on the coastal highway.",
        "Marsh said the union was ready to meet again at any time. “Our door is open,” she added. “Theirs seems to be locked.”",
        "Transport minister Paul Ainsley called on both sides to accept mediation, the BBC reported.",
    ]),
    ("Scientists find microplastics in mountain lake once thought pristine", "Priya Raman", None, [
        "Researchers have found microplastic fibres in the sediment of Lake Orrin, a remote mountain lake that has long served as a reference site for clean water studies.",
        "The team from the Eastvale Institute of Limnology took 24 sediment cores over two summers. Every one of them contained fibres, most of them polyester, the researchers wrote in a paper published on Monday.",
        "“We chose this lake precisely because nothing should reach it,” said Dr. Lena Brandt, who led the study. “Finding plastic here tells us the atmosphere is carrying it much further than we assumed.”",
        "Brandt said the fibres probably arrived with rain and snow. The nearest town is more than 60 kilometres away.",
        "Other scientists called the results worrying but not surprising. According to Tomas Varga, a chemist who was not involved in the work, similar fibres have been reported in Arctic snow.",
        "The institute plans to sample five more lakes next year.",
    ]),
    ("City unveils plan to plant 50,000 trees by 2030", "Daniel Kowal", None, [
        "The city of Kessbridge will plant 50,000 trees over the next six years under a plan presented by the mayor on Thursday.",
        "Mayor Ruth Abara said the trees would be planted along main roads, in school yards and on land freed by the closure of two car parks. The plan is expected to cost about 12 million dollars.",
        "“Shade is not a luxury anymore, it is public health,” Abara said at a news conference in the city hall. “Last summer we had 19 days above 35 degrees.”",
        "The city's environment department said it would favour native species that need little water. Residents will be able to request a tree in front of their home through a new website.",
        "The opposition said the plan lacked money for maintenance. “Planting is the easy part,” said councillor Omar Haddad. “Keeping a young tree alive for five years is where cities fail.”",
    ]),
    ("Central bank holds interest rates steady, signals cuts later in year", "Sofia Lindqvist", None, [
        "The central bank left its main interest rate unchanged at 4.25 percent on Wednesday, but its governor said cuts could come later in the year if inflation keeps falling.",
        "Inflation slowed to 2.9 percent in March, the national statistics office said last week, the lowest level in more than two years.",
        "“We are not there yet, but we are getting closer,” governor Martin Eklund told a news conference. He added that the bank wanted to see “a few more months of good news” before acting.",
        "Markets had expected the decision. Government bond yields fell slightly after Eklund's remarks, and the currency weakened against the euro.",
        "Business groups have called for lower rates for months. According to the Chamber of Commerce, investment by small firms fell by 8 percent last year.",
        "The bank's next meeting is scheduled for June.",
    ]),
    ("Hospital opens region's first dedicated stroke unit", "Grace Nakamura", None, [
        "Eastvale General Hospital opened a dedicated stroke unit on Monday, the first of its kind in the region, promising faster treatment for patients who until now had to be moved to the capital.",
        "The unit has 14 beds, a round-the-clock imaging team and two specialist neurologists. Patients arriving within four hours of the first symptoms will be treated on site, the hospital said.",
        "“Every minute counts with a stroke,” said Dr. Samuel Okoye, the unit's director. “Moving a patient two hours down the motorway was costing people their speech and their movement.”",
        "The health ministry paid for most of the 9 million dollar project. Health minister Clara Jovic, who attended the opening, said similar units would follow in two other regions.",
        "About 1,200 people in the region have a stroke every year, according to ministry figures.",
    ]),
    ("Wildfire forces evacuation of hillside villages", "Lucas Pereira", "SANTA LUCERNA, Costa Verde (Reuters) —", [
        "Hundreds of residents were evacuated from three hillside villages on Saturday as a wildfire driven by strong winds spread through pine forest above Santa Lucerna.",
        "Firefighters backed by four water-bombing aircraft were trying to stop the flames from reaching the villages, the regional civil protection agency said.",
        "“The wind changed direction twice in an hour, which makes this fire extremely unpredictable,” agency spokesman Rui Tavares told reporters.",
        "No injuries had been reported by the evening. Some 300 people spent the night in a sports hall in the town, where volunteers handed out food and blankets.",
        "Temperatures in the region have been above 38 degrees for a week, and authorities had banned all outdoor fires since the beginning of the month.",
    ]),
    ("Tech start-up raises $40 million to build battery recycling plant", "Ethan Brooks", None, [
        "Cellcycle, a three-year-old start-up, said on Tuesday it had raised 40 million dollars to build a plant that recovers lithium, nickel and cobalt from used electric car batteries.",
        "The plant, to be built on a former steel site in Bramwick, should process 10,000 tonnes of batteries a year from 2027, the company said. It expects to employ about 150 people.",
        "“Today we ship old batteries across the world to be recycled, and then we ship the metals back,” chief executive Nadia Rahman said in an interview. “That makes no sense economically or environmentally.”",
        "The funding round was led by an infrastructure fund and included two carmakers, Rahman said, without naming them.",
        "Analysts said the project would depend on the supply of used batteries, which is still small. “The wave of end-of-life batteries is coming, but it is not here yet,” said Ines Castell, an analyst at a consultancy.",
    ]),
    ("Library fines abolished as city seeks to bring readers back", "Hannah Grieve", None, [
        "Public libraries in Marlow Bay will stop charging fines for late returns from next month, the city's culture department announced on Friday.",
        "Fines brought in about 80,000 dollars a year, but they kept many families away, said head librarian Oskar Lund. “We found that children stopped borrowing books because their parents were afraid of the fines,” he said.",
        "The library will still ask readers to pay for lost books. Borrowers who owe old fines will see them cancelled.",
        "Several cities that abolished fines saw the number of returned books rise, according to a survey by the national library association.",
    ]),
    ("Football club unveils plans for new 30,000-seat stadium", "Tom Iversen", None, [
        "Westmarch United presented plans on Wednesday for a 30,000-seat stadium on the edge of the city, replacing the 90-year-old ground the club has outgrown.",
        "The club said the stadium would be paid for by its owners and a loan, and would not need public money. Construction could start in 2026 if planning permission is granted.",
        "“This club has been turning fans away for years,” chairman Victor Duarte told supporters at a presentation. “Our fans deserve a home that matches their passion.”",
        "Residents near the proposed site raised concerns about traffic on match days. The club said it would pay for a new tram stop and limit parking to 2,000 cars.",
        "The city council is expected to decide on the application early next year.",
    ]),
    ("Drought pushes farmers to switch crops", "Elena Varga", None, [
        "Farmers in the southern plains are abandoning maize for crops that need less water after a third year of drought left reservoirs at a quarter of their capacity.",
        "Sorghum and chickpeas now cover almost twice as much land as two years ago, according to the farmers' association, which surveyed 600 of its members.",
        "“My father grew maize, my grandfather grew maize, but the water is simply not there anymore,” said Jorge Uribe, who farms 80 hectares near Caldera Springs. “You adapt or you sell.”",
        "The agriculture ministry has offered grants of up to 20,000 dollars to farmers who install drip irrigation. Uribe said the paperwork took months.",
        "Climate scientists say the region should expect longer dry spells in the coming decades.",
    ]),
]
ES = [
    ("El ayuntamiento aprueba un carril bici que cruzará toda la ciudad", "Lucía Moreno", [
        "El pleno del ayuntamiento aprobó el jueves la construcción de un carril bici de 12 kilómetros que unirá el norte y el sur de la ciudad, tras casi dos años de debate.",
        "La obra costará unos 6 millones de euros y se financiará en parte con fondos europeos, según explicó la concejala de Movilidad, Carmen Ruiz.",
        "“Queremos que ir en bicicleta al trabajo sea una opción segura, no un acto de valentía”, dijo Ruiz durante la sesión.",
        "Los comerciantes del centro temen perder plazas de aparcamiento. Según la asociación de comerciantes, desaparecerán unas 300 plazas en las calles afectadas.",
        "Las obras comenzarán en septiembre y durarán unos 18 meses.",
    ]),
    ("Investigadores descubren una nueva especie de rana en los Andes", "Diego Salas", [
        "Un equipo de biólogos ha descrito una nueva especie de rana en los bosques nublados de los Andes, a más de 2.800 metros de altitud.",
        "El animal, de apenas dos centímetros, vive entre el musgo de los árboles y tiene un canto muy agudo que permitió localizarlo de noche, explicaron los investigadores.",
        "“Cada vez que volvemos a estas montañas encontramos algo nuevo”, afirmó la bióloga Paula Herrera, autora principal del estudio. “Pero también vemos cómo el bosque desaparece.”",
        "Según los autores, la especie debería clasificarse como en peligro porque su hábitat es muy pequeño y está amenazado por la agricultura.",
    ]),
]
FR = [
    ("La ville inaugure une nouvelle ligne de tramway", "Camille Dubois", [
        "La nouvelle ligne de tramway de la ville a été inaugurée samedi en présence de plusieurs centaines d'habitants, après quatre ans de travaux.",
        "Longue de neuf kilomètres, la ligne relie la gare au campus universitaire en 25 minutes. Elle devrait transporter 40 000 voyageurs par jour, selon l'autorité des transports.",
        "« C'est un changement profond pour les quartiers du nord, qui étaient mal desservis », a déclaré la maire, Hélène Marchand.",
        "Les commerçants de l'avenue principale, dont l'activité a souffert pendant les travaux, ont demandé une aide supplémentaire. La municipalité a promis d'examiner leur demande.",
        "Le tramway sera gratuit pendant le premier week-end.",
    ]),
    ("Les abeilles sauvages menacées par la chaleur, selon une étude", "Julien Mercier", [
        "Les vagues de chaleur de plus en plus fréquentes menacent les abeilles sauvages, selon une étude publiée mardi par des chercheurs de plusieurs universités européennes.",
        "Les scientifiques ont suivi 120 espèces pendant dix ans. Plus d'un tiers d'entre elles ont vu leurs populations reculer nettement après les étés les plus chauds.",
        "« Les abeilles sauvages sont moins visibles que les abeilles domestiques, mais elles assurent une grande partie de la pollinisation », a expliqué la biologiste Claire Fontaine, qui a coordonné l'étude.",
        "Les auteurs recommandent de conserver des zones de végétation non fauchée en bordure des champs, où les insectes peuvent trouver de l'ombre.",
    ]),
]
DE = [
    ("Stadtrat beschließt kostenlosen Nahverkehr für Schüler", "Lena Hoffmann", [
        "Schülerinnen und Schüler sollen ab dem kommenden Schuljahr Busse und Bahnen in der Stadt kostenlos nutzen dürfen. Das hat der Stadtrat am Mittwoch mit großer Mehrheit beschlossen.",
        "Die Kosten von rund 4 Millionen Euro im Jahr trägt die Stadt, wie Bürgermeister Thomas Krüger erklärte. Bisher zahlten Familien bis zu 40 Euro im Monat für ein Ticket.",
        "„Mobilität darf keine Frage des Geldbeutels sein“, sagte Krüger nach der Abstimmung.",
        "Die Opposition kritisierte, dass die Finanzierung für die nächsten Jahre nicht gesichert sei. Die Verkehrsbetriebe kündigten an, auf einigen Linien zusätzliche Busse einzusetzen.",
    ]),
    ("Forscher entwickeln Beton, der Kohlendioxid bindet", "Markus Weber", [
        "Ein Forschungsteam hat einen Beton entwickelt, der beim Aushärten Kohlendioxid aus der Luft aufnimmt. Die Ergebnisse wurden am Montag in einer Fachzeitschrift veröffentlicht.",
        "Nach Angaben der Forscher kann der neue Baustoff bis zu einem Fünftel der Emissionen ausgleichen, die bei seiner Herstellung entstehen.",
        "„Zement ist für einen großen Teil der weltweiten Emissionen verantwortlich, deshalb lohnt sich jeder Prozentpunkt“, erklärte die Materialwissenschaftlerin Anna Schubert.",
        "Bis der Beton auf Baustellen eingesetzt werden kann, seien aber noch mehrere Jahre an Tests nötig, sagte Schubert.",
    ]),
]
PT = [
    ("Prefeitura anuncia reforma do mercado municipal", "Beatriz Almeida", [
        "A prefeitura anunciou nesta segunda-feira a reforma completa do mercado municipal, construído há mais de 80 anos e fechado parcialmente desde o ano passado por problemas no telhado.",
        "As obras devem custar cerca de 15 milhões de reais e durar dois anos, segundo o secretário de Obras, Ricardo Santos.",
        "“O mercado é o coração do centro histórico e não pode continuar assim”, afirmou Santos em entrevista coletiva.",
        "Os comerciantes serão transferidos para uma estrutura provisória na praça ao lado durante a reforma, disse a prefeitura.",
    ]),
]
IT = [
    ("Il comune vieta le auto nel centro storico la domenica", "Giulia Romano", [
        "Dal mese prossimo le auto non potranno entrare nel centro storico la domenica, ha deciso ieri la giunta comunale.",
        "Il divieto varrà dalle 9 alle 20 e riguarderà anche i residenti, con alcune eccezioni per disabili e mezzi di soccorso, ha spiegato l'assessore alla mobilità Marco Ricci.",
        "«Vogliamo restituire le piazze ai cittadini almeno un giorno alla settimana», ha detto Ricci durante la conferenza stampa.",
        "Secondo l'associazione dei commercianti, la misura potrebbe ridurre gli incassi dei negozi. Il comune ha promesso una verifica dopo sei mesi.",
    ]),
]

WIDGETS = {
    "en": ["Share on Facebook", "Share on Twitter", "__________________ Join us on WhatsApp __________________",
           "ADVERTISEMENT", "Sign up for our newsletter and get the news first", "Read more: Council budget talks resume"],
    "es": ["Compartir en Facebook", "Compartir en WhatsApp", "Publicidad", "Lee también: El tiempo para el fin de semana"],
    "fr": ["Partager sur Facebook", "Partager sur Twitter", "Publicité", "Lire aussi : Les prix de l'énergie en hausse"],
    "de": ["Auf Facebook teilen", "Anzeige", "Lesen Sie auch: Neue Radwege für die Innenstadt"],
    "pt": ["Compartilhar no Facebook", "Publicidade", "Leia também: Chuvas fortes no fim de semana"],
    "it": ["Condividi su Facebook", "Pubblicità", "Leggi anche: Il meteo per il weekend"],
}
COMMENTS = {
    "en": ["Leave a Reply", "Your email address will not be published. Required fields are marked *"],
    "es": ["Deja un comentario", "Tu dirección de correo electrónico no será publicada. Los campos obligatorios están marcados con *"],
    "fr": ["Laisser un commentaire", "Votre adresse e-mail ne sera pas publiée. Les champs obligatoires sont indiqués avec *"],
    "de": ["Kommentar schreiben", "Deine E-Mail-Adresse wird nicht veröffentlicht. Erforderliche Felder sind mit * markiert"],
    "pt": ["Deixe um comentário", "O seu endereço de email não será publicado."],
    "it": ["Lascia un commento", "Il tuo indirizzo email non sarà pubblicato."],
}
NAV = ["Home | World | Politics | Business | Science | Sport | Opinion", "Menu", "Search", "Subscribe"]
FOOTER = ["© 2024 The Daily Example. All rights reserved.", "Privacy Policy | Terms of Use | Contact us",
          "We use cookies to improve your experience on our site. Accept"]


def mojibake(text: str) -> str:
    """UTF-8 bytes read as Windows-1252, as a broken scraper does (bytes it lacks kept as C1)."""
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in text.encode("utf-8"))


def straight_quotes(text: str) -> str:
    return text.translate({0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"'})


def txt_page(rng: random.Random, title: str, byline: str | None, dateline: str | None, paragraphs: list[str],
             lang: str, *, broken: bool = False, entities: bool = False, published: str | None = None) -> str:
    """A plain-text dump with the noise of the given language around the article."""
    lines = [title]
    if rng.random() < 0.6:
        lines += NAV
    lines.append(straight_quotes(title))
    if byline:
        lines.append(f"By {byline}" if lang == "en" else {"es": "Por", "fr": "Par", "de": "Von", "pt": "Por",
                                                          "it": "Di"}[lang] + f" {byline}")
    if published:
        lines.append(published)
    if rng.random() < 0.4:
        lines.append("Photo: Staff photographer/The Daily Example")
    body = list(paragraphs)
    if dateline:
        body[0] = f"{dateline} {body[0]}"
    for i, paragraph in enumerate(body):
        if entities and i == 1:
            paragraph = paragraph.replace("\u2019", "&#8217;").replace(" and ", " &amp; ", 1)
        if broken and "\u201c" in paragraph and i > 0:
            paragraph = paragraph.replace("\u201c", "\u201c\u201d", 1)
        lines.append(paragraph)
        roll = rng.random()
        if roll < 0.25:
            lines.append(rng.choice(WIDGETS[lang]))
        elif roll < 0.40:
            lines.append(straight_quotes(title) if rng.random() < 0.5 else title.upper())
        elif roll < 0.48:
            lines.append("* * *")
    if rng.random() < 0.5:
        lines.append(body[-1])  # the last paragraph twice, as some scrapers do
    lines += COMMENTS[lang] + rng.sample(FOOTER, 2)
    return "\n\n".join(lines) + "\n"


def html_page(rng: random.Random, title: str, byline: str | None, paragraphs: list[str], lang: str, *,
              published: str | None, url: str, json_ld: bool) -> str:
    """A full HTML page: head metadata, menus, the article, figures, related links, footer."""
    ld = ""
    if json_ld:
        ld = ("<script type=\"application/ld+json\">" + json.dumps({
            "@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
            "datePublished": published, "author": [{"@type": "Person", "name": byline}] if byline else []},
            ensure_ascii=False) + "</script>")
    meta = [f"<meta charset=\"utf-8\">", f"<title>{title} | The Daily Example</title>",
            f"<meta property=\"og:title\" content=\"{title}\">", f"<link rel=\"canonical\" href=\"{url}\">"]
    if published:
        meta.append(f"<meta property=\"article:published_time\" content=\"{published}\">")
    if byline:
        meta.append(f"<meta name=\"author\" content=\"{byline}\">")
    paras = "\n".join(f"<p>{p}</p>" for p in paragraphs[:2])
    paras += "\n<figure><img src=\"/img/1.jpg\" alt=\"\"><figcaption>Photo: Staff photographer</figcaption></figure>\n"
    paras += "\n".join(f"<p>{p}</p>" for p in paragraphs[2:])
    widgets = "".join(f"<li><a href=\"#\">{w}</a></li>" for w in WIDGETS[lang][:2])
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
{chr(10).join(meta)}
{ld}
</head>
<body>
<div class="cookie-banner">We use cookies to improve your experience on our site. <button>Accept</button></div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/politics">Politics</a></li><li><a href="/business">Business</a></li></ul></nav></header>
<main>
<article>
<h1>{title}</h1>
{f'<p class="byline">By {byline}</p>' if byline else ''}
<ul class="share">{widgets}</ul>
{paras}
</article>
<aside><h2>Related</h2><ul><li><a href="/a">Council budget talks resume</a></li><li><a href="/b">Weather: storms expected</a></li></ul></aside>
<section class="comments"><h3>{COMMENTS[lang][0]}</h3><form><textarea></textarea></form></section>
</main>
<footer><p>{FOOTER[0]}</p><p>{FOOTER[1]}</p></footer>
</body>
</html>
"""


def write(folder: Path, name: str, data: str | bytes) -> None:
    (folder / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def main() -> None:
    from pipeline.sample import article_parts, noisy_text

    rng = random.Random(2024)
    folder = HERE / "sample"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    hexes = iter(f"{rng.getrandbits(64):016x}" for _ in range(200))
    number = iter(range(1, 200))

    def txt_name() -> str:
        return f"{next(number):03d}_{next(hexes)}.txt"

    dates = ["Published 3:42 PM EST, Tue March 5, 2024", "Updated: 12/03/2024", "2 hours ago", None]
    # plain-text dumps: seven English stories, then one each in es, fr, de
    for i, (title, byline, dateline, paragraphs) in enumerate(EN[:7]):
        page = txt_page(rng, title, byline, dateline, paragraphs, "en", broken=i == 2, entities=i == 3,
                        published=dates[i % 4])
        if i == 4:
            page = mojibake(page)
        write(folder, txt_name(), page)
        if i == 0:  # the same story scraped again from another page: an exact duplicate of the body
            write(folder, txt_name(), txt_page(random.Random(9), title, byline, dateline, paragraphs, "en"))
        if i == 6:  # the wire story republished elsewhere, one sentence edited and a paragraph added
            edited = list(paragraphs)
            edited[2] = edited[2].replace("extremely unpredictable", "very hard to predict")
            edited.append("Civil protection officials said the evacuation order would be reviewed on Sunday morning.")
            write(folder, txt_name(), txt_page(random.Random(11), title, None, dateline, edited, "en"))
    for lang, stories in (("es", ES[:1]), ("fr", FR[:1]), ("de", DE[:1])):
        for title, byline, paragraphs in stories:
            write(folder, txt_name(), txt_page(rng, title, byline, None, paragraphs, lang))
    # a gzipped dump
    title, byline, dateline, paragraphs = EN[7]
    write(folder, txt_name() + ".gz", gzip.compress(txt_page(rng, title, byline, dateline, paragraphs, "en").encode(), mtime=0))
    # HTML pages
    pages = [(EN[8], "en"), (EN[9], "en"), (ES[1], "es"), (FR[1], "fr"), (DE[1], "de"), (PT[0], "pt"), (IT[0], "it")]
    for k, (story, lang) in enumerate(pages):
        if len(story) == 4:
            title, byline, _, paragraphs = story
        else:
            title, byline, paragraphs = story
        published = f"2024-0{k % 9 + 1}-1{k}T0{k}:30:00+00:00" if k % 3 else None
        page = html_page(rng, title, byline, paragraphs, lang, published=published,
                         url=f"https://www.example-news.org/{lang}/story-{k}", json_ld=k % 2 == 0)
        name = f"page_{lang}_{k}." + ("htm" if lang == "it" else "html")
        if k == 1:
            write(folder, name + ".gz", gzip.compress(page.encode(), mtime=0))
        else:
            write(folder, name, page)
    # scraper JSONL: one hand-written story, generated ones, an exact duplicate record, two bad lines
    gen = random.Random(7)
    records = []
    title, byline, _, paragraphs = EN[10]
    records.append({"id": "s24-0001", "url": "https://www.example-news.org/en/drought", "title": title,
                    "text": "\n\n".join(paragraphs + COMMENTS["en"]), "published": "2024-03-14T08:00:00Z",
                    "authors": [byline]})
    for n in range(2, 10):
        g_title, g_paragraphs = article_parts(gen)
        records.append({"id": f"s24-{n:04d}", "url": f"https://regional-courier.example/{n}", "title": g_title,
                        "text": noisy_text(gen, g_title, g_paragraphs), "published": f"2024-03-{n + 10}",
                        "authors": []})
    duplicate = dict(records[3], id="s24-0099", url="https://mirror.example/copy")
    records.append(duplicate)
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    lines.insert(5, "{\"id\": \"s24-0050\", \"text\": ")  # cut off mid-record
    lines.append(json.dumps({"id": "s24-0051", "title": "Headline without a text field"}))
    write(folder, "scrape_2024-03.jsonl", "\n".join(lines) + "\n")
    more = []
    for n in range(10, 13):
        g_title, g_paragraphs = article_parts(gen)
        more.append(json.dumps({"id": f"s24-{n:04d}", "title": g_title, "text": noisy_text(gen, g_title, g_paragraphs),
                                "published": None, "authors": []}))
    write(folder, "scrape_2024-04.jsonl.gz", gzip.compress(("\n".join(more) + "\n").encode(), mtime=0))
    # pages that are not articles, and files that cannot be read
    write(folder, txt_name(), "\n\n".join(NAV + ["Latest news", "Council budget talks resume",
                                                 "Weather: storms expected", "Sport results", "More stories"]
                                          + FOOTER) + "\n")
    write(folder, txt_name(), b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(600)))
    write(folder, txt_name(), b"")
    write(folder, "notes.md", "# Scrape notes\n\nPages fetched in March and April 2024.\n")


if __name__ == "__main__":
    main()
