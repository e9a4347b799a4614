"""Short Dutch summaries and modus-operandi texts for synthetic incidents.

Per type a few summaries and MO texts; an MO can mark the incident as high impact (an
explosion at a front door counts as such even though 1.6.1 Brand/ontploffing is no HIC type).
Types without their own texts get generic ones.
"""
from __future__ import annotations

import numpy as np

#: code -> (summaries, MO texts; an MO text starting with "!" marks a high-impact incident).
TEXTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "1.1.1": (("Inbraak in woning, melder trof bij thuiskomst deur geforceerd aan",
               "Poging tot inbraak in woning, sporen van braak aan kozijn",
               "Woninginbraak, sieraden en laptop weggenomen",
               "Inbraak in eengezinswoning tijdens vakantie bewoners"),
              ("Toegang via achterdeur, cilinder afgebroken",
               "Raam op de eerste verdieping opengebroken via uitbouw",
               "Flipperen van de voordeur met plastic strip",
               "Klapraam opengewrikt met schroevendraaier",
               "Toegang via openstaand toiletraam",
               "Schuifpui uit de rails gelicht")),
    "1.1.2": (("Inbraak in schuur, fietsen en gereedschap weg",
               "Inbraak in garagebox, inhoud doorzocht"),
              ("Hangslot doorgeknipt", "Deur schuur opengebroken met koevoet",
               "Kanteldeur garagebox opengewrikt")),
    "1.2.1": (("Diefstal uit geparkeerde auto", "Auto opengebroken, navigatie en tas weggenomen"),
              ("Zijruit ingeslagen", "Portier geopend met signaalverstoorder",
               "Airbags en stuur uitgebouwd")),
    "1.2.2": (("Diefstal van personenauto van oprit", "Diefstal van bestelbus"),
              ("Keyless entry, signaal van sleutel versterkt", "Contactslot geforceerd",
               "Sleutel eerder bij woninginbraak weggenomen")),
    "1.2.3": (("Fietsdiefstal bij station", "Diefstal van elektrische fiets",
               "Diefstal van bromfiets uit stalling"),
              ("Kettingslot doorgeknipt", "Fiets stond niet op slot", "Ringslot opengebroken",
               "Fiets meegenomen in bestelbus")),
    "1.2.4": (("Zakkenrollerij in winkelstraat", "Portemonnee ontvreemd in drukte"),
              ("Afleiding door vragen naar de weg", "Tas opengeritst in menigte",
               "Telefoon uit achterzak gerold")),
    "1.2.5": (("Diefstal van onderdelen van aanhangwagen", "Diefstal van buitenboordmotor"),
              ("Slot aanhanger geforceerd", "Bevestigingsbouten losgedraaid")),
    "1.3.1": (("Aanrijding met letsel op kruising", "Eenzijdig ongeval, bestuurder gewond",
               "Aanrijding fietser en personenauto"),
              ("Voorrang niet verleend", "Snelheid niet aangepast", "Door rood licht gereden")),
    "1.4.1": (("Melding zedenmisdrijf, zaak overgedragen aan zedenrecherche",),
              ("Dader bekend bij slachtoffer", "Ontmoeting via sociale media")),
    "1.4.2": (("Steekincident, slachtoffer zwaargewond naar ziekenhuis",
               "Schietincident, slachtoffer overleden"),
              ("Steekwapen gebruikt", "Vuurwapen gebruikt", "Ruzie liep uit de hand")),
    "1.4.3": (("Vechtpartij met meerdere personen bij horecagelegenheid",
               "Openlijke geweldpleging na sluitingstijd"),
              ("Groep belaagde slachtoffer, schoppen en slaan",
               "Glas als wapen gebruikt", "Ruzie bij taxistandplaats")),
    "1.4.4": (("Bedreiging van buurman", "Bedreiging van medewerker servicebalie",
               "Bedreiging via berichten"),
              ("Mondelinge bedreiging met de dood", "Dreigende berichten via app",
               "Bedreiging met mes getoond")),
    "1.4.5": (("Mishandeling na ruzie in uitgaansgebied", "Huiselijk geweld, partner mishandeld",
               "Mishandeling van conducteur"),
              ("Slaan met vuist", "Schoppen tegen hoofd", "Duwen en trekken aan kleding")),
    "1.4.6": (("Straatroof, telefoon afgepakt", "Tasjesroof op fietspad"),
              ("Slachtoffer van achteren benaderd", "Dreiging met mes",
               "Daders op scooter trokken tas weg")),
    "1.4.7": (("Overval op supermarkt", "Woningoverval, bewoners vastgebonden"),
              ("Gemaskerde daders met vuurwapen", "Binnengedrongen bij sluitingstijd",
               "Aanbellen onder valse voorwendsel")),
    "1.5.2": (("Diefstal van sloep uit jachthaven", "Diefstal van buitenboordmotor"),
              ("Ketting doorgeslepen", "Bevestiging motor geforceerd")),
    "1.6.1": (("Brand in container", "Explosie bij woning, schade aan gevel",
               "Autobrand, vermoedelijk aangestoken"),
              ("Brand gesticht met brandversneller", "Container in brand gestoken",
               "!Explosief bij voordeur tot ontploffing gebracht",
               "!Zwaar vuurwerk in brievenbus tot ontploffing gebracht")),
    "1.6.2": (("Oplichting bij verkoop via advertentiesite", "Verduistering van huurauto"),
              ("Betaald maar product niet geleverd", "Goederen niet teruggebracht")),
    "1.6.3": (("Signalen van arbeidsuitbuiting in bedrijfspand",),
              ("Werknemers ondergebracht in bedrijfspand", "Paspoorten ingenomen door werkgever")),
    "2.1.1": (("Overlast door drugsgebruik in portiek", "Drankoverlast op plein"),
              ("Groep gebruikers in portiek", "Lachgas gebruikt in geparkeerde auto")),
    "2.2.1": (("Vernieling van bushokje", "Autoruit ingegooid", "Bekladding van gevel"),
              ("Ruit ingegooid met steen", "Graffiti aangebracht", "Spiegels van auto's getrapt")),
    "2.5.1": (("Inbraak in bedrijfspand", "Inbraak in kantine sportvereniging"),
              ("Achterdeur geforceerd", "Toegang via dak", "Ramkraak met auto")),
    "2.5.2": (("Winkeldiefstal, verdachte aangehouden door beveiliging",
               "Winkeldiefstal van cosmetica", "Diefstal uit supermarkt"),
              ("Goederen in tas met folie", "Kassa voorbijgelopen", "Beveiligingsstrip verwijderd",
               "Meerdere daders, afleiding personeel")),
    "2.6.9": (("Afsteken van illegaal vuurwerk", "Vuurwerk naar hulpverleners gegooid"),
              ("Cobra's afgestoken in woonwijk", "Vuurwerk in prullenbak")),
    "3.1.1": (("Handel in harddrugs vanuit woning", "Straathandel in drugs bij station"),
              ("Bolletjes verkocht vanuit auto", "Bestellingen via berichtenapp",
               "Hennepkwekerij aangetroffen")),
    "3.1.3": (("Bezit van vuurwapen", "Handel in wapens"),
              ("Vuurwapen aangetroffen bij controle", "Wapens verstopt in auto")),
    "3.5.2": (("Rijden onder invloed van alcohol", "Rijden onder invloed van drugs"),
              ("Blaastest positief bij controle", "Speekseltest positief")),
    "3.6.4": (("Verstoring openbare orde bij uitgaansgebied", "Samenscholing na voetbalwedstrijd"),
              ("Agenten belaagd", "Bevel niet opgevolgd")),
    "3.7.4": (("Hacking van e-mailaccount", "Ransomware bij klein bedrijf"),
              ("Phishingmail met valse link", "Wachtwoord uitgelekt", "Ransomware via bijlage")),
    "3.9.1": (("Oplichting via valse webwinkel", "Vriend-in-noodfraude via berichtenapp",
               "Bankhelpdeskfraude"),
              ("Slachtoffer betaalde vooruit", "Zich voordoen als familielid",
               "Bankpas opgehaald aan de deur")),
    "N01": (("Overlast door groep jongeren", "Jongeren hangen rond bij winkelcentrum",
             "Overlast door jongeren op scooters"),
            ("Groep van 8 tot 10 jongeren, harde muziek", "Scooters rijden over stoep",
             "Jongeren vallen voorbijgangers lastig")),
    "N02": (("Melding verward persoon op straat", "Persoon in crisis, GGZ ingeschakeld"),
            ("Persoon roept en schreeuwt", "Persoon loopt op rijbaan",
             "Persoon dreigt zichzelf iets aan te doen")),
    "N03": (("Burenruzie over geluid", "Burenruzie over erfgrens"),
            ("Harde woordenwisseling", "Buren spreken elkaar aan over geluidsoverlast")),
    "N04": (("Drugsoverlast in portiek", "Vermoedelijke drugsdeal in park"),
            ("Verkeersbewegingen bij woning", "Gebruikers in trappenhuis")),
    "N05": (("Verkeersongeval met materiële schade", "Aanrijding op parkeerplaats"),
            ("Kop-staartbotsing", "Achteruitrijden tegen geparkeerde auto")),
    "N06": (("Inval in woning op last van de officier van justitie",
             "Doorzoeking van bedrijfspand"),
            ("!Inval door arrestatieteam in de vroege ochtend",
             "!Doorzoeking met ondersteuning van de ME")),
    "N07": (("Geluidsoverlast door feest", "Geluidsoverlast door horeca"),
            ("Harde muziek na middernacht", "Bezoekers luidruchtig op terras")),
}

_GENERIC_SUMMARIES = ("Aangifte {title}", "Melding {title}, zaak in behandeling",
                      "Registratie {title} na controle")
_GENERIC_MO = ("Werkwijze onbekend", "Geen bijzonderheden", "Verdachte bekend bij politie",
               "Getuigen gehoord")
_GENERIC_INCIDENT_SUMMARIES = ("Melding {title}", "Melding {title}, eenheid ter plaatse")
_GENERIC_INCIDENT_MO = ("Melder gesproken", "Geen bijzonderheden")


class TextTable:
    """Summaries and MO texts for all types, flattened for vectorised picking."""

    def __init__(self, codes, titles, incident):
        summaries, mos, mo_hic = [], [], []
        self.sum_start = np.zeros(len(codes), dtype=np.int64)
        self.sum_count = np.zeros(len(codes), dtype=np.int64)
        self.mo_start = np.zeros(len(codes), dtype=np.int64)
        self.mo_count = np.zeros(len(codes), dtype=np.int64)
        for i, (code, title, inc) in enumerate(zip(codes, titles, incident)):
            if code in TEXTS:
                s, m = TEXTS[code]
            elif inc:
                s, m = _GENERIC_INCIDENT_SUMMARIES, _GENERIC_INCIDENT_MO
            else:
                s, m = _GENERIC_SUMMARIES, _GENERIC_MO
            short = title.split("(")[0].strip().lower()
            if code.startswith("2.6."):
                short = f"milieudelict ({short})"
            self.sum_start[i], self.sum_count[i] = len(summaries), len(s)
            summaries += [t.format(title=short) for t in s]
            self.mo_start[i], self.mo_count[i] = len(mos), len(m)
            mos += [t.lstrip("!") for t in m]
            mo_hic += [t.startswith("!") for t in m]
        self.summaries = summaries
        self.mos = mos
        self.mo_high_impact = np.array(mo_hic)

    def pick(self, rng, t_idx):
        """(summary index, MO index) per incident of type index ``t_idx``."""
        n = len(t_idx)
        s = self.sum_start[t_idx] + (rng.random(n) * self.sum_count[t_idx]).astype(np.int64)
        m = self.mo_start[t_idx] + (rng.random(n) * self.mo_count[t_idx]).astype(np.int64)
        return s, m
