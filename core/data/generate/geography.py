"""Where the maison sells: its boutiques (city, climate, clientele) and the names people have in each region."""

from __future__ import annotations

import numpy as np

from core.data.generate.text import ascii_letters, listed
from core.data.schema import ONLINE_STORE_ID

# id, name, city, country, climate, phone prefix, client share, stock factor,
# regional name mix, segment affinity (multiplies the segment shares)
STORES: tuple[tuple[str, str, str, str, str, str, float, float, str, str], ...] = (
    ("par", "Paris Saint-Honoré", "Paris", "France", "temperate", "+33", 0.15, 1.4,
     "fr:55,it:5,gb:5,us:7,ar:7,zh:6,es:5,jp:4,de:3,in:3", "quiet_luxury:1.3,heritage_classic:1.2,avant_garde:1.1"),
    ("lon", "London Bond Street", "London", "United Kingdom", "temperate", "+44", 0.13, 1.3,
     "gb:50,fr:6,it:5,us:10,ar:8,in:8,zh:6,es:4,nordic:3", "heritage_classic:1.4,quiet_luxury:1.1"),
    ("mil", "Milano Montenapoleone", "Milan", "Italy", "temperate", "+39", 0.08, 1.0,
     "it:60,fr:6,de:6,us:6,ar:5,zh:7,es:5,kr:5", "runway:1.5,heritage_classic:1.1"),
    ("nyc", "New York Madison Avenue", "New York", "United States", "temperate", "+1", 0.12, 1.3,
     "us:55,es:12,fr:5,gb:6,it:6,zh:6,kr:5,in:5", "sporty_luxe:1.3,quiet_luxury:1.2"),
    ("tyo", "Tokyo Ginza", "Tokyo", "Japan", "temperate", "+81", 0.09, 1.1,
     "jp:75,kr:8,zh:10,us:4,fr:3", "avant_garde:1.8,minimalist_eco:1.2"),
    ("dxb", "Dubai Design District", "Dubai", "United Arab Emirates", "warm", "+971", 0.08, 1.0,
     "ar:55,in:15,gb:10,fr:5,it:5,zh:5,es:5", "jewellery_collector:2.0,runway:1.5"),
    ("mia", "Miami Design District", "Miami", "United States", "warm", "+1", 0.06, 0.8,
     "us:45,es:40,fr:5,it:5,gb:5", "sporty_luxe:1.5,runway:1.3"),
    ("sin", "Singapore Orchard Road", "Singapore", "Singapore", "warm", "+65", 0.07, 0.9,
     "zh:55,in:15,gb:8,jp:6,us:6,kr:5,ar:5", "jewellery_collector:1.3,quiet_luxury:1.2"),
    ("hkg", "Hong Kong Landmark", "Hong Kong", "Hong Kong", "warm", "+852", 0.06, 0.9,
     "zh:70,gb:10,jp:6,kr:6,us:4,fr:4", "jewellery_collector:1.6,heritage_classic:1.1"),
    ("osl", "Oslo Aker Brygge", "Oslo", "Norway", "cold", "+47", 0.04, 0.6,
     "nordic:75,gb:6,de:8,us:5,fr:3,zh:3", "minimalist_eco:2.0,sporty_luxe:1.2"),
    ("zrh", "Zürich Bahnhofstrasse", "Zurich", "Switzerland", "cold", "+41", 0.05, 0.8,
     "de:55,fr:15,it:12,us:5,gb:5,ar:4,zh:4", "quiet_luxury:1.4,jewellery_collector:1.3"),
    (ONLINE_STORE_ID, "Online boutique", "Online", "International", "temperate", "", 0.07, 3.0,
     "fr:1,gb:1,it:1,us:2,es:1,jp:1,ar:1,zh:1,nordic:1,de:1,in:1,kr:1", "sporty_luxe:1.3,minimalist_eco:1.2"),
)  # fmt: skip

NAMES: dict[str, tuple[str, str]] = {
    "fr": ("Zoé, Isabelle, Chloé, Léa, Camille, Manon, Inès, Hélène, Élodie, Margaux, Clémence, Joséphine, "
           "François, Étienne, Julien, Louis, Théo, Raphaël, Aurélien, Benoît, Amélie, Céline, Noémie, Gaëlle",
           "Martin, Bernard, Dubois, Lefèvre, Moreau, Laurent, Girard, Rousseau, Fontaine, Chevalier, Mercier, "
           "Lemaître, Durand, Bonnet, Faure, Gauthier, Duchêne, Lécuyer, de La Roche, Béranger"),
    "gb": ("Olivia, Amelia, Charlotte, Harriet, Imogen, Georgia, James, Oliver, Henry, Edward, Alistair, "
           "Siobhan, Niamh, Rhys, Beatrix, Florence",
           "Smith, Harrington, Whitmore, Ashford, Blackwood, Pemberton, O'Connor, Fitzgerald, Clarke, Hughes, "
           "Campbell, MacLeod, Kavanagh"),
    "it": ("Giulia, Francesca, Chiara, Beatrice, Ludovica, Alessandro, Lorenzo, Niccolò, Matteo, Federica, "
           "Caterina, Gianluca, Vittoria",
           "Rossi, Bianchi, Ferrari, Romano, Colombo, Ricci, Marino, Greco, Conti, De Luca, Esposito, Galli, Fabbri"),
    "us": ("Emily, Madison, Ashley, Sarah, Jessica, Michael, Daniel, Ethan, Grace, Lauren, Brooke, "
           "Christopher, Natalie, Taylor",
           "Johnson, Williams, Brown, Miller, Davis, Wilson, Anderson, Taylor, Thompson, Lee, Whitaker, Sullivan"),
    "es": ("Ana, José, María, Lucía, Sofía, Valentina, Mateo, Santiago, Alejandro, Camila, Martín, Ximena, Begoña",
           "García, Fernández, López, Martínez, Sánchez, Pérez, Gómez, Díaz, Álvarez, Muñoz, Castillo, Ibáñez"),
    "jp": ("Yuki, Haruka, Aiko, Sakura, Mei, Hina, Kenji, Takeshi, Haruto, Ren, Yui, Emi, Sōta, Kōki",
           "Tanaka, Suzuki, Takahashi, Watanabe, Itō, Yamamoto, Nakamura, Kobayashi, Saitō, Katō, Yoshida, Matsumoto"),
    "ar": ("Aïsha, Fatima, Mariam, Noor, Layla, Hessa, Omar, Khalid, Rashid, Youssef, Salma, Amira, Hamdan, Zaïd",
           "Al Mansouri, Al Hashimi, Haddad, Khoury, Nasser, El-Amin, Saleh, Karam, Farouk, Al Suwaidi, Rahman, Bouzid"),
    "zh": ("Mei, Jia Hui, Wei, Xin Yi, Hui Min, Jun, Kai, Ling, Yan, Zhi Hao, Shu Fen, Wing",
           "Tan, Lim, Lee, Ng, Wong, Chan, Chen, Leung, Ong, Goh, Teo, Lau, Cheung"),
    "nordic": ("Søren, Astrid, Ingrid, Sigrid, Linnéa, Maja, Björn, Håkon, Eirik, Freja, Ole, Nora, Sølvi",
               "Hansen, Johansen, Olsen, Larsen, Andersen, Pedersen, Nilsen, Kristiansen, Bjørnstad, Lindqvist, "
               "Strøm, Haugen, Åberg"),
    "de": ("Anna, Lena, Lukas, Jonas, Sophie, Mia, Felix, Maximilian, Jürgen, Käthe, Noah, Léonie, Matthias, Mirjam",
           "Müller, Meier, Schmid, Keller, Weber, Huber, Schneider, Fischer, Brunner, Baumann, Gerber, Zürcher, Käser"),
    "in": ("Priya, Ananya, Arjun, Rohan, Kavya, Aditi, Vikram, Meera, Ishaan, Diya",
           "Sharma, Kapoor, Mehta, Iyer, Patel, Reddy, Malhotra, Banerjee, Nair"),
    "kr": ("Ji-woo, Seo-yeon, Min-jun, Ha-eun, Do-yun, Soo-ah, Ye-jin, Jae-won",
           "Kim, Park, Choi, Jung, Kang, Yoon, Han, Seo"),
}  # fmt: skip
REGIONS = tuple(NAMES)
# Name pools per region, and each name folded to ASCII (for e-mail addresses).
FIRST_NAMES = [np.array(listed(NAMES[g][0]), dtype=object) for g in REGIONS]
LAST_NAMES = [np.array(listed(NAMES[g][1]), dtype=object) for g in REGIONS]
FOLDED = {x: ascii_letters(x) for pool in FIRST_NAMES + LAST_NAMES for x in pool}
EMAIL_DOMAINS = np.array(["example.com", "example.org", "example.net"], dtype=object)
