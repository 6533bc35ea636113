"""Hand-written (prompt, response) pairs of the built-in ``instructions`` set, by category.

Written for procon-bench by the project in November 2026 (no text taken from any existing instruction
data set). ``benchmarks/tasks/instructions.py`` adds the template-generated categories and writes
``benchmarks/data/instructions.jsonl``. Keep each prompt short (the chat-formatted prompt must fit
64 SmolLM2 tokens) and most answers at 20-70 words.
"""

from __future__ import annotations

WRITING = [
    ('Write a haiku about the first snow of winter.',
     'Soft flakes drift and fall,\nthe garden hushed under white,\nfootprints of a cat.'),
    ('Write a two-sentence story about a lighthouse keeper.',
     'Every night for forty years, Marta climbed the tower and lit the lamp for ships that never came. On '
     'her last night, a small boat blinked its light back at her, and she laughed until she cried.'),
    ('Write a short thank-you note to a neighbour who watered my plants while I was away.',
     'Dear Sam, thank you so much for looking after my plants while I was travelling. They look happier than '
     "when I left! I really appreciate your kindness, and I'd love to have you over for coffee this week. "
     'Best wishes, Alex'),
    ('Describe a busy morning market in three sentences.',
     'Stalls spill over with bright peppers, stacked melons and buckets of fresh flowers. Vendors call out '
     'prices while shoppers squeeze between crates, bags swinging from their arms. Somewhere nearby, the '
     'smell of warm bread and roasting coffee drifts over the whole noisy scene.'),
    ('Write a product description for a wool winter hat.',
     'Keep the cold out in style. This chunky hat is knitted from soft merino wool that stays warm without '
     'itching, with a fleece lining around the ears and a fold-up cuff. It comes in six colours, fits most '
     'heads and can be hand-washed in cool water.'),
    ('Write a limerick about a dog who hates baths.',
     "A spaniel called Max from the shore\nWould hide every bath-time, what's more,\nHe'd shake off the "
     'suds\nThen roll in the muds,\nAnd come back much dirtier than before.'),
    ('Give me an opening line for a mystery novel.',
     'The clock in the hallway had stopped at 3:17, and nobody in the house would admit to touching it.'),
    ('Write a short birthday message for my grandmother, who is turning 90.',
     'Happy 90th birthday, Grandma! Ninety years of stories, kindness and the best apple pie in the family. '
     'Thank you for everything you have taught us. We love you and hope today is full of laughter, cake and '
     'all the people who adore you.'),
    ('Write a four-line poem about a mountain stream.',
     'A silver thread on mossy stone,\nit hurries down the hill alone;\nit sings to ferns and fallen '
     "pine\nand keeps the valley's cold, clear time."),
    ('Compose a short welcome message for new members of a book club.',
     "Welcome to the club! We're so glad you've joined us. We meet on the first Thursday of every month to "
     "talk about the book we've chosen, swap recommendations and enjoy a cup of tea. Bring your opinions, "
     'your questions and any snacks you like. Happy reading!'),
    ('Write a tweet announcing that our bakery now sells sourdough.',
     'Big news from the oven! Our slow-fermented sourdough is finally here, baked fresh every morning with a '
     'crackly crust and a soft, tangy crumb. Come grab a loaf before they sell out! #sourdough #freshbread'),
    ('Write a short motivational message for a friend running their first marathon.',
     "You've put in the early mornings, the long runs and the sore legs, and now it's time to enjoy it. "
     'Start slow, soak up the crowd and trust your training. Whatever the clock says, crossing that finish '
     'line will be something to be proud of forever. Go get it!'),
    ("Write a riddle whose answer is 'a shadow'.",
     'I follow you all day but vanish at night. I grow long in the evening and short at noon. I copy every '
     'move you make, yet I have no body of my own. What am I? (Answer: a shadow.)'),
    ('Write a short message asking my landlord to fix a leaking tap.',
     "Hi Mr Evans, I hope you're well. The kitchen tap in the flat has started leaking steadily, even when "
     "fully turned off, and it's getting worse. Could you arrange for someone to take a look this week? I'm "
     'home most evenings after 5 pm. Thanks very much, Priya'),
    ('Describe the taste of a lemon to someone who has never had one.',
     'Imagine the brightest, sharpest flavour you know, then make it sour enough to make your mouth pucker. '
     'A lemon is tart and fresh, with a slightly bitter edge from its peel and a clean, zesty smell. It '
     'wakes up your whole tongue, which is why a little squeeze livens up so many dishes.'),
    ('Write a short dialogue between a barista and a sleepy customer.',
     'Barista: Good morning! What can I get you?\nCustomer: Coffee. Big. Please.\nBarista: Large black '
     "coffee coming up. Long night?\nCustomer: Long week, and it's only Tuesday.\nBarista: Then the extra "
     'shot is on the house.'),
    ('Come up with a slogan for a community garden.',
     '"Plant a seed, grow a neighbourhood." It\'s short, easy to remember, and shows that the garden is '
     'about people as much as plants.'),
    ('Write a short fable with a moral about patience.',
     'A young fox saw grapes still green on the vine and ate them at once, then spent the night with a sore '
     'stomach. An old tortoise waited two more weeks and enjoyed the sweetest grapes of the season. Moral: '
     'good things often come to those who wait for the right moment.'),
    ('Write a postcard message from a holiday by the sea.',
     "Greetings from the coast! The weather has been sunny and breezy, and we've spent most days swimming, "
     'eating far too much ice cream and watching the fishing boats come in. Yesterday we found a tiny cove '
     'full of rock pools. Wish you were here!'),
    ('Write a short bio for a freelance graphic designer named Lena.',
     'Lena is a freelance graphic designer with eight years of experience creating logos, packaging and '
     'websites for small businesses. She loves bold colour, clean layouts and turning messy ideas into clear '
     "visuals. When she isn't designing, you'll find her sketching in cafés or hiking with her dog."),
    ('write an acrostic poem using the word RAIN',
     'Rooftops drumming softly,\nAll the gutters sing,\nInside we read by lamplight,\nNow the garden drinks.'),
    ('Write a one-paragraph description of an old library.',
     'The old library smelled of dust, leather and polished wood. Tall shelves climbed toward a painted '
     'ceiling, and ladders on brass rails leaned against them like patient guests. Light fell through arched '
     'windows onto long oak tables, where the only sounds were turning pages and the slow tick of a clock.'),
    ('Write a short invitation to a board game evening on Saturday.',
     "You're invited to a board game night! Join us this Saturday from 7 pm for snacks, laughter and some "
     "friendly competition. We'll have classics and a few new games to try, but feel free to bring your "
     'favourite. Let us know by Thursday if you can come!'),
    ('Write a cheerful good-morning message for our team chat.',
     "Good morning, everyone! The coffee is brewing, the inbox is waiting and it's a brand new day to get "
     "things done. Let's make it a good one, and shout if anyone needs a hand with anything today."),
    ('Write a short review of a fictional cosy café called The Copper Kettle.',
     'The Copper Kettle is the kind of café you plan to visit for ten minutes and leave two hours later. The '
     'armchairs are soft, the cinnamon buns are still warm, and the staff remember your order by the second '
     "visit. It gets busy on weekends, but it's worth the wait. Four and a half stars."),
    ('Write a two-line rhyme about Monday mornings.',
     "The alarm rings loud, the coffee's slow,\nbut Monday's here, so off we go."),
    ('Suggest a caption for a photo of a sunset over the mountains.',
     'Golden hour over the peaks: the perfect end to a long day on the trail.'),
    ('Write a short opening for a speech at a school science fair.',
     "Good evening, students, parents and teachers, and welcome to this year's science fair! Tonight the "
     'hall is full of questions our students were curious enough to test: volcanoes, plant growth, homemade '
     'batteries and much more. Please explore, ask questions and celebrate the hard work behind every '
     'project.'),
    ('Write a kind message to a colleague who is leaving the company.',
     'It has been a real pleasure working with you. Your patience, good humour and willingness to help made '
     "every project easier, and the team won't be the same without you. Best of luck in your new role, and I "
     'hope you stay in touch!'),
    ('Write a short scene in which two friends get lost on a hike.',
     '"I\'m sure the trail was on the left," said Jo, turning the map upside down.\nMina looked at the '
     'identical pine trees around them. "You said that an hour ago."\nThey sat on a rock, shared the last '
     'sandwich and laughed until a dog walker appeared and pointed them back to the car park.'),
    ('Write a friendly reminder that the book club meets tomorrow.',
     'Just a friendly reminder that our book club meets tomorrow at 6:30 pm in the library reading room. '
     "We'll be discussing the final chapters, so bring your notes and favourite quotes. Tea and biscuits "
     'will be provided. See you there!'),
    ('Could you write a short lullaby verse?',
     'Hush now, the moon is climbing high,\nthe stars are humming in the sky,\nthe wind has tucked the trees '
     'in tight,\nso close your eyes and sleep tonight.'),
    ('Describe autumn using all five senses.',
     'Autumn looks like maple leaves turning red and gold. It sounds like dry leaves crunching underfoot and '
     'geese calling overhead. It smells of woodsmoke and damp earth, tastes like warm apple pie and roasted '
     'chestnuts, and feels like a cool breeze on your cheeks as you pull your scarf tighter.'),
    ('Write the opening of a cover letter for a junior accountant position.',
     'Dear Hiring Manager, I am writing to apply for the Junior Accountant position at Brightwell & Co. I '
     'recently completed my degree in accounting and spent a summer internship preparing reconciliations and '
     'monthly reports. I enjoy careful, organised work and would welcome the chance to grow with your team.'),
    ('Tell a story in exactly three sentences about a lost umbrella.',
     'The red umbrella was left on the 8:15 train one rainy Tuesday. It travelled to the end of the line and '
     'spent a week in the lost-property office among forgotten scarves. On Monday a little girl spotted it, '
     'gasped, and carried it home to her very relieved father.'),
]

EXPLANATION = [
    ('Explain how soap cleans your hands.',
     'Soap molecules have one end that is attracted to water and another that is attracted to oil and '
     'grease. When you lather, the oily ends grab dirt and germs on your skin and wrap them in tiny '
     'clusters. Rinsing with water carries those clusters away, which is why scrubbing for 20 seconds '
     'matters.'),
    ('Why do stars twinkle?',
     "Stars twinkle because their light passes through Earth's moving atmosphere, where pockets of warmer "
     'and cooler air bend it slightly in different directions. Stars are so far away that they look like '
     'tiny points, so these shifts make them seem to flicker. Planets look like small discs and usually '
     'shine more steadily.'),
    ('What is a mortgage?',
     'A mortgage is a loan used to buy a home, with the home itself as security. You repay it in monthly '
     'instalments, usually over 20 to 30 years, covering both the amount borrowed and interest. If the '
     'payments stop, the lender can take the property to recover its money.'),
    ('Why do we get hiccups?',
     'Hiccups happen when the diaphragm, the muscle under your lungs, suddenly contracts and your vocal '
     "cords snap shut, making the 'hic' sound. Common triggers include eating quickly, fizzy drinks, "
     'swallowing air and sudden excitement. They usually stop on their own within a few minutes.'),
    ('Explain what a volcano is to a ten-year-old.',
     "A volcano is an opening in the Earth's surface where hot melted rock, called magma, comes up from deep "
     'underground. When pressure builds, the magma bursts out as lava, along with ash and gas. Over many '
     'eruptions, the cooled lava and ash pile up and build the mountain we see.'),
    ('What does a CPU do in a computer?',
     "The CPU, or central processing unit, carries out a computer's instructions. It fetches them from "
     'memory, works out what they mean and performs them, such as adding numbers or moving data. Everything '
     'you do on a computer, from typing to playing video, relies on the CPU running billions of these steps '
     'every second.'),
    ('How do fireflies glow?',
     'Fireflies glow through a chemical reaction in their bodies called bioluminescence. A substance called '
     'luciferin reacts with oxygen, helped by an enzyme called luciferase, and the energy is released as '
     'light instead of heat. Fireflies flash in patterns to attract mates, and each species has its own '
     'signal.'),
    ('Why do onions make you cry?',
     'Cutting an onion breaks its cells and sets off a chemical reaction that releases a gas, which drifts '
     'up to your eyes. There it irritates the nerves, and your eyes make tears to wash it away. Chilling the '
     'onion first and using a sharp knife both reduce the amount of gas released.'),
    ('What does an interest rate mean on a loan?',
     'An interest rate is the price of borrowing money, shown as a percentage of the amount borrowed per '
     'year. On a loan of 1,000 at 6 percent a year, you pay about 60 in interest over a year on top of '
     'repaying the 1,000. Lower rates make borrowing cheaper, while for savers a higher rate means faster '
     'growth.'),
    ('Explain how a refrigerator keeps food cold.',
     'A refrigerator moves heat from the inside to the outside. A fluid called a refrigerant flows through '
     'pipes inside the fridge and evaporates, absorbing heat from the food compartment. A compressor then '
     'squeezes the gas, which releases that heat through coils at the back, and the cycle repeats.'),
    ('What is the function of the heart?',
     'The heart is a muscular pump that pushes blood around the body. Its right side sends blood to the '
     'lungs to pick up oxygen, and its left side pumps that oxygen-rich blood to every organ and muscle. At '
     'rest it beats around 60 to 100 times a minute, all day, every day.'),
    ('What is an ecosystem?',
     'An ecosystem is a community of living things, such as plants, animals and microbes, together with the '
     'non-living environment they share, like water, soil and climate. Plants capture energy from sunlight, '
     'animals eat plants or each other, and decomposers return nutrients to the soil. Ponds, forests and '
     'coral reefs are all ecosystems.'),
    ('Explain what a cookie is on a website.',
     'A cookie is a small text file that a website stores in your browser. It lets the site remember things '
     "about your visit, such as that you're logged in, what's in your shopping basket or which language you "
     'chose. Some cookies also track browsing across sites, which is why many sites ask for consent.'),
    ('what is supply and demand',
     'Supply and demand describes how prices are set in a market. Supply is how much of something sellers '
     'offer, and demand is how much buyers want. When demand rises and supply stays the same, prices tend to '
     'go up; when supply grows faster than demand, prices tend to fall. The price settles where the two '
     'balance.'),
    ('How do magnets work?',
     'Magnetism comes from the way electrons spin and move inside certain materials, like iron. In a magnet, '
     'huge numbers of tiny atomic magnets line up in the same direction, creating a magnetic field around '
     'it. Opposite poles attract and like poles repel, which is why a north pole pulls toward a south pole.'),
    ('Why do we have leap years?',
     'A year on Earth is about 365.24 days long, not exactly 365. Adding an extra day, 29 February, every '
     'four years keeps the calendar in step with the seasons. Century years skip the leap day unless they '
     'are divisible by 400, which is why 2000 was a leap year but 1900 was not.'),
    ('Explain what an atom is.',
     'An atom is the smallest unit of a chemical element. It has a tiny, dense centre called the nucleus, '
     'made of protons and neutrons, surrounded by a cloud of electrons. The number of protons decides which '
     'element it is: one for hydrogen, six for carbon, eight for oxygen.'),
    ('What is machine learning, in plain words?',
     'Machine learning is a way of building computer programs that learn patterns from examples instead of '
     "following hand-written rules. You show the program lots of data, such as photos labelled 'cat' or "
     "'dog', and it adjusts itself until it makes good guesses on new examples. It powers spam filters and "
     'speech recognition.'),
    ('How does a thermometer work?',
     'A traditional thermometer holds a liquid, such as coloured alcohol, in a thin glass tube. When the '
     'temperature rises, the liquid expands and climbs the tube; when it cools, the liquid contracts and '
     'drops. Digital thermometers instead use a sensor whose electrical resistance changes with temperature.'),
    ('What is a budget deficit?',
     'A budget deficit happens when a government, company or household spends more money than it takes in '
     'over a certain period. A government with a deficit usually borrows to cover the gap, which adds to its '
     'debt. The opposite, taking in more than you spend, is called a surplus.'),
    ('Why does metal feel colder than wood at the same temperature?',
     'Metal is a much better conductor of heat than wood. When you touch it, it pulls heat away from your '
     'skin quickly, so your hand cools and the metal feels cold. Wood conducts heat slowly, so your skin '
     'stays warmer, even though both objects are at the same temperature.'),
    ('What does a router do?',
     'A router connects devices to a network and directs traffic between them. At home, it links your phones '
     'and laptops to each other and to the internet, passing data from your provider to the right device. '
     'Most home routers also create the Wi-Fi network and give each device a local address.'),
    ('How do airplanes stay in the air?',
     'Wings are shaped and angled so that, as the plane moves forward, they push air downward and the air '
     'pushes the wing up. Air flowing over the curved top moves faster and its pressure drops, while '
     'pressure below stays higher, creating lift. The engines provide thrust to keep the plane moving fast '
     'enough.'),
    ('Explain the idea of opportunity cost.',
     'Opportunity cost is the value of the best option you give up when you make a choice. If you spend '
     'Saturday working an extra shift, the opportunity cost might be the hike you could have taken with '
     'friends. Thinking about it shows that every decision has a hidden price, even when no money changes '
     'hands.'),
    ('What is erosion?',
     'Erosion is the slow wearing away of rock and soil by wind, water, ice or gravity. Rivers carve '
     'valleys, waves wear down cliffs, and glaciers grind mountains as they move. Over thousands of years, '
     'erosion shapes landscapes, and the material it removes is carried away and deposited somewhere else.'),
    ('How does a search engine find results?',
     'Search engines use programs called crawlers to visit web pages and copy their content into a huge '
     'index. When you type a query, the engine looks up matching pages in that index and ranks them using '
     'signals such as relevance, page quality and how other sites link to them. The top-ranked pages are '
     'shown first.'),
    ('Why does the Moon look different each night?',
     "The Moon doesn't make its own light; we see the half lit by the Sun. As it orbits Earth, we see that "
     'sunlit half from changing angles, so over about 29.5 days it seems to grow from a thin crescent to a '
     'full moon and shrink back again. These stages are called phases.'),
    ('What is a metaphor?',
     'A metaphor is a figure of speech that describes something by saying it is something else, to suggest a '
     "likeness. For example, 'time is a thief' suggests that time quietly takes things from us. Unlike a "
     "simile, a metaphor doesn't use 'like' or 'as'."),
    ('Explain what a stock is.',
     'A stock is a small share of ownership in a company. If you buy one, you own a tiny part of that '
     'business. Its price rises or falls depending on how investors expect the company to perform, and some '
     'companies also pay shareholders part of their profits, called dividends.'),
    ('How does GPS know where I am?',
     'Your device listens for signals from several satellites, each sending its position and the exact time. '
     'Because the signals travel at a known speed, the device works out how far away each satellite is. With '
     'distances to at least four satellites, it calculates your position, usually to within a few metres.'),
    ('What is a food chain?',
     'A food chain shows who eats whom in an ecosystem. It starts with a plant, which makes food from '
     'sunlight; a plant-eater such as a rabbit eats the plant, and a predator such as a fox eats the rabbit. '
     'Energy passes along the chain at each step, and most ecosystems contain many linked chains, called a '
     'food web.'),
    ('What is the purpose of a thesis statement in an essay?',
     'A thesis statement tells the reader the main argument of your essay, usually in one or two sentences '
     'near the end of the introduction. It acts as a promise about what the essay will show and guides every '
     'paragraph that follows. A good thesis is specific, arguable and clear.'),
    ('Explain what a database is.',
     'A database is an organised collection of data stored so that it can be searched, updated and managed '
     'easily. Many databases keep information in tables of rows and columns, like linked spreadsheets, and '
     'use a language such as SQL to query them. Websites use databases to store users, orders and posts.'),
    ('What role do bees play in agriculture?',
     'Bees are key pollinators. As they move from flower to flower collecting nectar, they carry pollen that '
     'fertilises plants and lets them produce fruit and seeds. Many crops, including apples, almonds, '
     'blueberries and cucumbers, depend heavily on bees, so healthy bee populations help keep harvests '
     'large.'),
    ('How does a microwave oven heat food?',
     'A microwave oven produces microwaves, a type of radio wave, that bounce around inside the metal box. '
     'They make the water molecules in food flip back and forth billions of times a second, and that motion '
     'creates heat. This is why foods with more water heat faster and why stirring helps spread the heat.'),
    ('What is a calorie?',
     "A calorie is a unit of energy. The 'calories' on food labels are actually kilocalories: the energy "
     'needed to raise the temperature of one kilogram of water by one degree Celsius. Your body gets this '
     'energy from food and uses it to breathe, move, think and keep warm.'),
    ('Explain what the Internet of Things means.',
     'The Internet of Things refers to everyday objects that are connected to the internet and can send or '
     'receive data. Examples include smart thermostats, fitness trackers, light bulbs and doorbell cameras '
     'you control from your phone. By sharing information, these devices can be automated or monitored '
     'remotely.'),
    ('How far away is the Moon?',
     'On average, the Moon is about 384,400 kilometres from Earth. Its orbit is slightly oval, so the '
     'distance varies by tens of thousands of kilometres over a month, and light takes just over a second to '
     'make the trip.'),
    ('What is a democracy?',
     'A democracy is a system of government in which power comes from the people. Citizens choose their '
     'leaders through free and fair elections and can vote them out. Most democracies also protect rights '
     'such as free speech and a free press, and divide power so that no single group controls everything.'),
    ("Explain how a bicycle's gears help you ride uphill.",
     'Gears change how far the back wheel turns for each turn of the pedals. In a low gear, each pedal '
     'stroke turns the wheel only a little, so you travel less distance but need much less force, which '
     'makes climbing easier. High gears do the opposite, letting you go fast on flat ground.'),
    ('What is an algorithm?',
     'An algorithm is a clear, step-by-step set of instructions for solving a problem or completing a task. '
     'A recipe is an everyday example: follow the steps in order and you get the dish. In computing, '
     'algorithms tell a computer how to sort a list, find the shortest route or search for a word.'),
    ('Why does bread go stale?',
     'Bread goes stale mainly because its starch slowly recrystallises after baking, pushing water out and '
     'making the crumb firm and dry. This happens fastest at fridge temperatures, which is why refrigerated '
     'bread stales quickly. Warming stale bread in the oven briefly reverses the process and softens it '
     'again.'),
    ('How do solar panels make electricity?',
     'Solar panels are made of cells, usually silicon, that react to sunlight. When light hits a cell, it '
     "knocks electrons loose, and the cell's structure pushes them to flow in one direction, making an electric "
     'current. Wires collect the current, and an inverter converts it into the kind of electricity homes '
     'use.'),
    ("What does 'carbon footprint' mean?",
     'A carbon footprint is the total amount of greenhouse gases produced by a person, product or activity, '
     'measured as carbon dioxide equivalent. It includes the fuel burned for travel, the energy used at home '
     'and the emissions from making the food and goods we buy.'),
    ('Explain what a URL is.',
     'A URL, or uniform resource locator, is the address of something on the internet, such as a web page or '
     'an image. It usually has a scheme like https, a domain name like example.com and sometimes a path to a '
     'specific page. Typing a URL into your browser tells it exactly where to go.'),
]

HOW_TO = [
    ('How do I change a flat bicycle tyre?',
     'First, remove the wheel and use tyre levers to ease one side of the tyre off the rim. Pull out the '
     'inner tube and check the inside of the tyre for anything sharp. Fit a new or patched tube, tuck the '
     'tyre back onto the rim, inflate it to the pressure printed on the sidewall and refit the wheel.'),
    ('How can I make a simple paper airplane?',
     'Fold a sheet of A4 paper in half lengthwise and unfold it. Fold the top two corners into the centre '
     'crease to make a point, then fold the new slanted edges into the centre again. Fold the plane in half '
     'along the crease, fold each side down to form the wings, and throw it gently and level.'),
    ('How do I make green tea taste less bitter?',
     'Use water that is hot but not boiling, around 70 to 80 °C, because boiling water scorches green tea. '
     'Use about one teaspoon of leaves per cup and steep for only two to three minutes. Take the leaves out '
     'when the time is up; leaving them in is the most common cause of bitterness.'),
    ('How do I create a strong password I can remember?',
     'Try a passphrase: string together four or five random, unrelated words, like '
     "'copper-giraffe-lantern-tuesday'. It's long, which makes it hard to guess, yet easy to picture and "
     'remember. Use a different one for every important account, and consider a password manager so you only '
     'need to remember one.'),
    ('How can I get a red wine stain out of a cotton shirt?',
     'Act quickly. Blot the stain with a paper towel to lift as much wine as possible, without rubbing. '
     'Rinse the back of the fabric with cold water, then apply a little liquid detergent and let it sit for '
     '15 minutes. Wash as usual in cold water and check that the stain is gone before using the dryer.'),
    ('How do I plant tomato seedlings?',
     'Wait until the risk of frost has passed, then choose a sunny spot. Dig a hole deep enough to bury '
     'about two-thirds of the stem, since tomatoes grow roots along buried stems. Remove the lower leaves, '
     "plant, fill with soil mixed with compost and water well. Add a stake now so you don't disturb the "
     'roots later.'),
    ('How do I take a screenshot on a Windows computer?',
     'Press Windows key + Shift + S, then drag to select the area you want; it is copied to the clipboard so '
     'you can paste it anywhere. To save the whole screen as a file, press Windows key + Print Screen, and '
     'the image goes into the Screenshots folder inside Pictures.'),
    ("What's the best way to memorise a short speech?",
     'Break the speech into small sections and learn one at a time, saying it aloud rather than just reading '
     'it. Focus on the key idea of each section so you can recover if you forget a word. Practise in the '
     "room where you'll speak, record yourself, and rehearse the day before and the morning of the talk."),
    ('How do I clean a cast-iron pan?',
     "Clean it while it's still warm. Rinse with hot water and scrub with a brush; a little mild soap is "
     'fine. For stuck-on bits, scrub with coarse salt and a splash of water. Dry it completely on the stove, '
     'then rub a thin layer of oil over the surface to keep it seasoned and prevent rust.'),
    ('How do I hang a picture frame straight?',
     'Decide the height first: the centre of a picture usually looks best at about eye level, around 145 cm '
     'from the floor. Mark the spot for the hook with a pencil, using a spirit level or a phone level app to '
     'keep two hooks aligned. Hang the frame, then nudge it until the bubble on the level is centred.'),
    ('How do I poach an egg?',
     'Bring a pan of water to a gentle simmer and add a splash of vinegar. Crack a very fresh egg into a '
     'small cup, stir the water to make a gentle whirlpool and slide the egg into the centre. Cook for about '
     'three minutes, then lift it out with a slotted spoon and drain it on kitchen paper.'),
    ('How do I write a good email subject line?',
     'Keep it short, ideally under eight words, and specific enough that the reader knows what the email is '
     'about before opening it. Put the most important words first and include any action or deadline, for '
     "example 'Budget draft: feedback needed by Friday'. Avoid vague lines like 'Quick question'."),
    ('how do i start swimming laps as a beginner',
     'Start with short distances: swim one length, rest for 30 seconds and repeat eight to ten times. Focus '
     'on relaxed breathing, breathing out steadily underwater, rather than speed. Swim two or three times a '
     'week and add a few lengths each session. A single lesson on technique can make laps feel much easier.'),
    ('How can I keep cut flowers fresh longer?',
     'Trim the stems at an angle and remove any leaves that would sit below the water line. Use a clean vase '
     'with cool water and a little flower food. Change the water every two days, re-trim the stems, and keep '
     'the vase away from direct sun, heaters and ripening fruit.'),
    ('How do I make a to-do list that actually works?',
     'Write down everything on your mind, then pick no more than three top priorities for the day. Break big '
     "tasks into concrete next steps, like 'draft the first paragraph' instead of 'write report'. Keep the "
     "list where you'll see it, tick things off, and move unfinished items to tomorrow each evening."),
    ('How do I fold a fitted sheet?',
     'Hold the sheet inside out by two adjacent corners, one in each hand. Tuck one corner into the other, '
     'then do the same with the remaining two corners so you have a rectangle with curved edges stacked '
     'together. Lay it flat, fold the elastic edges in to make straight lines, and fold it into a neat '
     'rectangle.'),
    ('How do I back up the photos on my phone?',
     'The easiest way is to turn on automatic cloud backup, such as iCloud Photos on an iPhone or Google '
     'Photos on Android, so new pictures upload over Wi-Fi. For a second copy, connect the phone to a '
     'computer every month or so and copy the photo folder to an external drive.'),
    ('How do I start a compost bin?',
     'Choose a bin with a lid and put it on bare soil in a shady spot. Add a mix of green material, like '
     'vegetable peelings, coffee grounds and grass cuttings, and brown material, like dry leaves, cardboard '
     'and straw. Keep it as damp as a wrung-out sponge and turn it every couple of weeks; compost is ready '
     'in a few months.'),
    ('How can I improve my handwriting?',
     'Slow down and hold the pen loosely, moving from your arm rather than just your fingers. Practise basic '
     'shapes like lines, circles and loops, then individual letters, paying attention to consistent size and '
     'spacing. Copying a few lines of text every day for a few weeks makes a noticeable difference.'),
    ('How do I repot a houseplant?',
     'Water the plant a day before. Pick a pot one size larger with drainage holes and add a layer of fresh '
     'potting mix. Ease the plant out, loosen circling roots with your fingers and set it at the same depth '
     'as before. Fill around it with soil, press lightly, water well and keep it out of harsh sun for a '
     'week.'),
    ('How should I introduce myself at a networking event?',
     'Keep it short and friendly: your name, what you do in one sentence, and something that invites '
     "conversation. For example: 'Hi, I'm Dana. I design websites for small charities, and I'm here to learn "
     "about the local startup scene. What brings you here?' Then listen more than you talk."),
    ('How do I descale a kettle?',
     'Fill the kettle halfway with equal parts water and white vinegar. Bring it to the boil, switch it off '
     'and let it sit for an hour. Pour it out and gently scrub any remaining scale. Then boil clean water '
     'twice and pour it away each time to remove any vinegar taste.'),
    ('How do I make a quick tomato sauce for pasta?',
     'Gently fry two sliced garlic cloves in olive oil for a minute. Add a can of chopped tomatoes, a pinch '
     'of salt and a pinch of sugar, and simmer for 15 to 20 minutes until thick. Stir in torn basil and a '
     'splash of pasta water, then toss with your pasta and top with grated cheese.'),
    ('How do I set up an email signature?',
     "In most email apps, open Settings and look for 'Signature'. Create one with your name, role, company "
     'and a contact method such as your phone number. Keep it to three or four lines, avoid large images, '
     'and choose whether it appears on new emails, replies or both. Then send yourself a test message.'),
    ('How do I learn to touch type?',
     'Start with your fingers on the home row: left hand on A S D F, right hand on J K L and the semicolon, '
     'thumbs on the space bar. Use a free typing tutor for 15 minutes a day, focusing on accuracy before '
     'speed, and try not to look at the keyboard. Most people feel comfortable within a few weeks.'),
    ('Walk me through jump-starting a car.',
     "Park the working car close by with both engines off. Clip one red clamp to the flat battery's positive "
     "terminal and the other red clamp to the good battery's positive terminal. Attach a black clamp to the "
     "good battery's negative terminal and the last one to bare metal on the dead car. Start the good car, "
     'wait a few minutes, then start the other.'),
    ('How can I make my basil plant grow bushier?',
     'Pinch off the growing tips just above a pair of leaves; this encourages the plant to send out side '
     "shoots. Give it plenty of bright light so it doesn't stretch toward the window, and turn the pot every "
     'week for even growth. Remove flower buds as they appear, since flowering slows leaf growth.'),
    ('How do I write a haiku?',
     'A haiku is a three-line poem with five syllables in the first line, seven in the second and five in '
     'the third. Traditionally it captures a single moment in nature and hints at a season. Choose a clear '
     'image, count syllables carefully, and try to end with a small surprise in the last line.'),
    ("How do I politely end a phone call that's going on too long?",
     "Wait for a natural pause, then signal the ending with a short summary and a reason, for example: 'It's "
     "been great catching up. I need to get dinner started, but let's talk again next week.' Thank them, "
     "mention when you'll next be in touch, and say goodbye warmly."),
    ('How do I work out a 15 percent tip in my head?',
     'Move the decimal point one place left to get 10 percent, then add half of that amount. For a bill of '
     "48, 10 percent is 4.80, half of that is 2.40, so the tip is 7.20. Round up a little if you'd like an "
     'easier number.'),
    ('How do I remove a splinter?',
     'Wash your hands and the area with soap and water. If the end is sticking out, grip it with clean '
     "tweezers and pull it out at the same angle it went in. If it's just under the skin, gently lift the "
     'end with a sterilised needle first. Wash the spot again and cover it with a plaster.'),
    ('How do I make cold brew coffee at home?',
     'Coarsely grind 100 grams of coffee and stir it into one litre of cold water in a jar. Cover and leave '
     'it in the fridge for 12 to 18 hours, then strain it through a sieve lined with a paper filter. The '
     'result is a concentrate, so dilute it with water or milk to taste and serve over ice.'),
    ('How do I sew on a button?',
     'Thread a needle with a double strand and knot the end. Hold the button in place, push the needle up '
     'through the fabric and one hole, then down through the opposite hole. Repeat about six times for each '
     'pair of holes. Wrap the thread a few times around the stitches under the button, then knot it on the '
     'back.'),
    ('How do I clear my browser cache?',
     'In most browsers, press Ctrl + Shift + Delete (Cmd + Shift + Delete on a Mac) to open the clear-data '
     "window. Choose a time range such as 'All time', tick 'Cached images and files' and untick anything you "
     'want to keep, like passwords. Click Clear data, then reload the page that was misbehaving.'),
    ("What's a good way to prepare for a job interview?",
     "Research the company's products, values and recent news, and reread the job description to match your "
     'experience to each requirement. Prepare short stories about past achievements, practise your answers '
     'aloud and have two or three questions ready to ask. Plan your route or test your video setup the day '
     'before.'),
]

REWRITING = [
    ('Rewrite this sentence to sound more formal: "Hey, can you send me that report by tomorrow?"',
     'Could you please send me the report by tomorrow? Thank you in advance.'),
    ('Make this sentence simpler: "The committee reached a consensus to postpone the initiative '
     'indefinitely."',
     "The committee agreed to put the project on hold with no new date.\n\n'Reached a consensus' becomes "
     "'agreed', and 'postpone indefinitely' becomes 'put on hold with no new date'."),
    ('Fix the grammar: "Me and him goes to the store every weekends."',
     "He and I go to the store every weekend.\n\n'He and I' is the subject, so it takes the subject "
     "pronouns, and the verb 'go' agrees with a plural subject. 'Every' is followed by a singular noun."),
    ('Rewrite in the passive voice: "The chef prepared a delicious meal."',
     "A delicious meal was prepared by the chef.\n\nThe object, 'a delicious meal', becomes the subject, and "
     "the verb changes to 'was prepared'."),
    ('Rewrite in the active voice: "The window was broken by the ball."',
     'The ball broke the window.'),
    ('Make this more concise: "At this point in time, we are currently in the process of reviewing your '
     'application."',
     "We are reviewing your application.\n\n'At this point in time', 'currently' and 'in the process of' all "
     'say the same thing as the present tense, so they can go.'),
    ('Rewrite this in a friendlier tone: "Your request has been rejected due to missing documents."',
     "Thanks for your request! We're just missing a couple of documents before we can approve it. Send them "
     "over and we'll take another look straight away."),
    ('Turn this statement into a yes/no question: "The museum opens at nine."',
     'Does the museum open at nine?'),
    ('Rewrite the sentence in the past tense: "She walks to school and buys a coffee."',
     'She walked to school and bought a coffee.'),
    ('Correct the spelling: "I recieved the pakage yesterday and it was definately worth the weight."',
     'I received the package yesterday and it was definitely worth the wait.\n\nFour fixes: received, '
     "package, definitely, and 'wait' instead of 'weight'."),
    ('Paraphrase the saying "Practice makes perfect."',
     'The more you do something, the better you get at it.'),
    ('Rewrite this for a five-year-old: "Plants require sunlight to produce energy."',
     'Plants need sunshine to make the food that helps them grow.'),
    ('Make this sentence more vivid: "The dog ran across the field."',
     'The scruffy terrier raced across the dewy field, ears flapping and tail wagging like a flag.'),
    ('Turn this into a bulleted list: "For the trip, bring a passport, sunscreen, a hat and a phone '
     'charger."',
     '- Passport\n- Sunscreen\n- Hat\n- Phone charger'),
    ('Rewrite this headline to be less sensational: "SHOCKING: Local Bakery Runs Out of Bread!"',
     'Local bakery sells out of bread early'),
    ('Convert to British spelling: "The theater\'s color scheme was organized around my favorite gray."',
     "The theatre's colour scheme was organised around my favourite grey."),
    ('Rewrite in the third person: "I love hiking, and I go every Sunday."',
     'She loves hiking, and she goes every Sunday.'),
    ('Combine into one sentence: "The train was late. We missed the meeting."',
     'Because the train was late, we missed the meeting.'),
    ('Split this into shorter sentences: "We arrived late and reception was closed, so we called the owner, '
     'who came down in his pyjamas."',
     'We arrived late. Reception was closed, so we called the owner. He came down in his pyjamas.'),
    ('Rewrite this sentence without the word \'very\': "It was a very big and very old house."',
     'It was a huge, ancient house.'),
    ('Make this complaint more polite: "Your app keeps crashing and it\'s useless."',
     "Your app has been crashing often for me, which makes it hard to use. Could you look into it? I'm happy "
     'to share details about my phone if that helps.'),
    ('Rewrite in plain English: "Kindly revert at your earliest convenience."',
     "Please reply as soon as you can.\n\n'Revert' in this sense is office jargon for 'reply', and 'at your "
     "earliest convenience' just means 'soon'."),
    ('Phrase this positively: "Don\'t forget to lock the door."',
     'Remember to lock the door.\n\nTelling people what to do, rather than what not to do, usually makes '
     'instructions clearer and friendlier.'),
    ('Rewrite this text message as a formal sentence: "running late, there in 10"',
     'Please excuse the delay; I am running a little late and expect to arrive in about ten minutes.'),
    ('Replace the clichés in this sentence: "At the end of the day, we need to think outside the box."',
     'Ultimately, we need to find fresh and creative approaches.'),
    ('Rewrite in the future tense: "They build a new bridge over the river."',
     'They will build a new bridge over the river.'),
    ('Make this job ad line more inclusive: "We\'re looking for a young, energetic salesman."',
     "We're looking for an energetic, motivated salesperson."),
    ('Shorten to under ten words: "Our store will be closed on Monday because of the public holiday."',
     "Store closed Monday for the public holiday.\n\nThat's seven words, and it keeps the two key facts: "
     'when the store is closed and why.'),
    ('Use more precise verbs: "She went quickly up the stairs and said loudly that dinner was ready."',
     'She dashed up the stairs and announced that dinner was ready.'),
    ('Remove the double negative: "We never saw nobody at the beach."',
     "We never saw anybody at the beach.\n\n'Never' already makes the sentence negative, so 'nobody' changes "
     "to 'anybody'. 'We saw nobody at the beach' would also work."),
    ('Fix the capitalisation: "on monday, jamie flew from paris to new york."',
     'On Monday, Jamie flew from Paris to New York.'),
    ('Put this into reported speech: She said, "I am tired."',
     "She said that she was tired.\n\nIn reported speech, 'I' becomes 'she' and the present 'am' shifts back "
     "to the past 'was'."),
    ('Make this sentence gender-neutral: "Each student must bring his own lunch."',
     "Each student must bring their own lunch.\n\nSingular 'their' is widely accepted. You could also write "
     "'All students must bring their own lunch.'"),
    ('Add the missing punctuation: "lets eat grandma said the boy"',
     '"Let\'s eat, Grandma," said the boy.\n\nThe comma before \'Grandma\' matters: it shows the boy is '
     'talking to his grandmother, not suggesting they eat her.'),
    ('Rewrite this recipe step to be clearer: "Cook onions till done then add stuff."',
     'Cook the chopped onions over medium heat for about eight minutes until soft and golden, then add the '
     'garlic and spices.'),
]

BRAINSTORMING = [
    ('Give me five ideas for a rainy-day activity with kids.',
     '1. Build a blanket fort and read stories inside it.\n2. Set up an indoor scavenger hunt with picture '
     'clues.\n3. Bake and decorate simple cookies.\n4. Put on a puppet show with old socks.\n5. Make a '
     'collage from magazines and scraps of paper.'),
    ('Suggest names for a small independent bookshop.',
     'A few ideas: The Dog-Eared Page, Chapter & Verse, The Reading Nook, Ink and Ivy, Second Chapter Books '
     "and The Quiet Shelf. Pick one that suits the shop's mood, whether cosy, literary or playful, and check "
     "that the name isn't already taken locally."),
    ('List some low-cost date night ideas.',
     'Cook a new recipe together, have a picnic in the park, go stargazing, visit a museum on a free day, '
     'hold a board game tournament, take a sunset walk, or have a themed movie night at home with homemade '
     'popcorn.'),
    ('Brainstorm topics for a school science project.',
     'Some fun options: which materials keep ice frozen longest, how light colour affects plant growth, '
     'whether music changes reaction time, which paper towel absorbs the most water, how salt affects the '
     "boiling point of water, and how wing shape changes a paper airplane's flight."),
    ('What are some ways to reuse glass jars?',
     'Glass jars make great storage for spices, grains and leftovers. They also work as drinking glasses, '
     'candle holders, small vases, pen pots, containers for homemade jam, mini terrariums, or jars for '
     'sorting screws and buttons.'),
    ('Give me ideas for a 30-minute team-building activity.',
     'Try a quick trivia quiz in small teams, a round of two truths and a lie, a spaghetti-and-marshmallow '
     'tower challenge, a desert-island game where teams agree on five items to keep, or a shared playlist '
     'where everyone adds one song and explains why.'),
    ('Suggest some hobbies I could pick up in my fifties.',
     'Photography, birdwatching, pottery, choir singing, learning a language, gardening, watercolour '
     'painting, chess, walking clubs and volunteering are all easy to start at any age. Choose one that gets '
     'you moving and one that gets you meeting people, and try a beginner class before buying equipment.'),
    ('What could I write about on a personal blog?',
     'Think about what you already talk about with friends. Good options include a diary of recipes you try, '
     'book reviews, your progress learning a new skill, local walks and cafés, home projects, budget travel '
     "tips, or lessons from your job. Writing about something you'd do anyway keeps the blog going."),
    ("Give me ten words that rhyme with 'light'.",
     'bright, night, kite, sight, flight, white, fright, bite, height, might'),
    ("Suggest themes for a child's birthday party.",
     'Popular themes include pirates, dinosaurs, outer space, superheroes, under the sea, a jungle safari, a '
     'science lab, knights and castles, a sports day and a rainbow art party. Pick one the child is excited '
     'about and carry it through the invitations, cake and games.'),
    ('What are some healthy snacks to keep at my desk?',
     'Good options are unsalted nuts, apples or bananas, rice cakes with peanut butter, roasted chickpeas, '
     'wholegrain crackers, a few squares of dark chocolate, dried fruit in small portions and plain popcorn. '
     'Keep a water bottle nearby too, since thirst is often mistaken for hunger.'),
    ('Suggest five questions to ask at the end of a job interview.',
     '1. What does a typical day look like in this role?\n2. How do you measure success in the first six '
     "months?\n3. What are the biggest challenges the team faces?\n4. How would you describe the team's "
     'culture?\n5. What are the next steps in the hiring process?'),
    ('Brainstorm ways to make a small apartment feel bigger.',
     'Use mirrors to bounce light around, keep windows clear and choose light wall colours. Pick furniture '
     'with legs so you can see the floor, add vertical shelving, and choose pieces that do two jobs, like an '
     'ottoman with storage. Clearing clutter makes the biggest difference of all.'),
    ('Give me some conversation starters for a dinner party.',
     "Try questions like: What's the best thing you've eaten on a trip? If you could master any skill "
     'overnight, what would it be? Which book or show do you recommend to everyone? What was your first job? '
     'Open questions like these get the whole table talking.'),
    ('List ideas for a family weekend without screens.',
     "Go on a bike ride or nature walk, visit a farmers' market, build something out of cardboard, bake "
     'bread together, play board or card games, have a picnic, plant herbs, write and perform a short play, '
     'or borrow library books and read them in the park.'),
    ('Suggest names for a friendly golden retriever puppy.',
     'Sunny, Maple, Biscuit, Honey, Charlie, Goldie, Toffee, Murphy, Poppy or Rusty would all suit a '
     'cheerful golden retriever. Try calling a few out loud at the park; the one you enjoy saying is usually '
     'the right choice.'),
    ('What are some ideas for a short story plot?',
     'A lighthouse keeper finds messages in bottles addressed to her. Two rival bakers must share a kitchen '
     'for a week. A child discovers the town clock controls the weather. A grandfather enters a '
     'skateboarding contest. A lost letter is delivered fifty years late. Each gives you a character and a '
     'problem to solve.'),
    ('Suggest uses for leftover rice.',
     'Leftover rice works well in fried rice, rice pudding, stuffed peppers, arancini, soup, burrito bowls '
     'or crispy rice cakes. Make sure it was cooled quickly and kept in the fridge, and use it within a day.'),
    ('Give me ideas for small acts of kindness.',
     'Hold the door for someone, leave a kind note for a coworker, let a shopper with fewer items go ahead '
     "of you, text a friend you haven't heard from, give a sincere compliment, pick up litter on your "
     'street, share your umbrella, or write a good review for a local business you like.'),
    ('Brainstorm names for a podcast about gardening.',
     'Some ideas: Dirt Under the Nails, The Compost Heap, Rooted, Seed to Supper, Weekend Weeders, The '
     'Potting Shed, Grow Slow and Leaf It to Us. A short name that is easy to spell will be easier for '
     'listeners to find.'),
    ('What could I bring to a potluck dinner?',
     'Dishes that travel well and serve a crowd are ideal: a big pasta salad, a tray of roasted vegetables, '
     'chilli with cornbread, a grain salad with feta, homemade hummus with pitta, a fruit crumble or '
     'brownies. Label anything that contains nuts or dairy.'),
    ('Give me ideas for staying active with a desk job.',
     'Stand or walk during phone calls, take the stairs, set a reminder to stretch every hour, walk over to '
     'a colleague instead of emailing, use a standing desk for part of the day, and take a brisk ten-minute '
     'walk at lunch.'),
    ('List some fun facts I could use at a trivia night.',
     'Octopuses have three hearts. A group of flamingos is called a flamboyance. Bananas are berries, but '
     'strawberries are not. Venus spins in the opposite direction to most planets. Wombat droppings are '
     'cube-shaped. These usually get a reaction from the room.'),
    ('Suggest ideas for decorating a classroom for spring.',
     'Hang paper flowers and butterflies from the ceiling, make a wall tree where students add a leaf for '
     "each thing they've learned, plant seeds in cups on the windowsill, use pastel borders on display "
     'boards, and keep a weather chart to track the changing season.'),
    ('Brainstorm ways to save water at home.',
     'Take shorter showers, turn off the tap while brushing your teeth, fix dripping taps, run the '
     'dishwasher and washing machine only when full, water the garden early in the morning, collect '
     'rainwater in a barrel, and keep a jug of cold water in the fridge.'),
    ('Suggest ideas for a neighbourhood street party.',
     'Close the street to traffic if your council allows it, and set up shared tables for a potluck lunch. '
     'Add games for children like chalk drawing, sack races and a treasure hunt, a playlist or a local band, '
     "a plant or book swap, and a cake competition. Name tags help neighbours finally learn each other's "
     'names.'),
    ("Suggest some ways to celebrate a friend's promotion.",
     'Take them out for lunch, send a handwritten card, organise a small surprise cake at work, give a '
     'thoughtful gift for the new role, like a good notebook or pen, or post a congratulations message that '
     'highlights what makes them great at their job.'),
    ('What are some easy vegetables to grow on a balcony?',
     'Cherry tomatoes, lettuce, radishes, spinach, spring onions, chillies and dwarf beans all grow well in '
     'pots. Herbs such as basil, mint and parsley are easy too. Most need at least five or six hours of sun, '
     'so use the sunniest spot and water regularly.'),
    ('Give me five ideas for a themed movie night.',
     '1. Eighties classics with retro snacks.\n2. Animated favourites with a pyjama dress code.\n3. Around '
     'the world: one film from each continent.\n4. Space adventures with star-shaped cookies.\n5. Detective '
     'mysteries where guests guess the culprit halfway through.'),
    ('Brainstorm ways to practise a new language every day.',
     "Label objects around your home in the new language, switch your phone's language setting, listen to "
     'podcasts on your commute, write three sentences in a journal each night, use a flashcard app for ten '
     'minutes, and find a conversation partner for a weekly chat.'),
]

CODING = [
    ('Write a Python function that returns the square of a number.',
     'def square(x):\n    return x * x\n\nFor example, square(4) returns 16.'),
    ("What's the quickest way to flip the order of a Python list?",
     'Use slicing to get a reversed copy: reversed_list = my_list[::-1]. To reverse the list in place, call '
     'my_list.reverse(). If you only need to loop backwards, for item in reversed(my_list) avoids making a '
     'copy.'),
    ('In Python, how can I test if a number is even? Show a small function.',
     'def is_even(n):\n    return n % 2 == 0\n\nThe % operator gives the remainder after dividing by 2, '
     'which is 0 for even numbers.'),
    ('What does the len() function do in Python?',
     'len() returns the number of items in an object. For a string it counts characters, for a list or tuple '
     "it counts elements, and for a dictionary it counts keys. For example, len('hello') is 5 and len([1, 2, "
     '3]) is 3.'),
    ('Write a SQL query that selects all customers from the city of Lyon.',
     "SELECT *\nFROM customers\nWHERE city = 'Lyon';\n\nReplace * with specific columns, such as name and "
     'email, if you only need some fields.'),
    ('Explain what this code does: for i in range(3): print(i)',
     'It loops three times, with i taking the values 0, 1 and 2, and prints each value on its own line. '
     'range(3) produces numbers starting at 0 and stopping before 3.'),
    ('How do I read a text file line by line in Python?',
     "with open('notes.txt', encoding='utf-8') as f:\n    for line in f:\n        "
     'print(line.rstrip())\n\nThe with statement closes the file automatically, and rstrip() removes the '
     'newline at the end of each line.'),
    ('Write a JavaScript function that adds two numbers.',
     'function add(a, b) {\n  return a + b;\n}\n\nCalling add(2, 3) returns 5.'),
    ('When should I use a dictionary instead of a list in Python?',
     'Use a dictionary when you want to look things up by a key, such as a name or ID, and a list when order '
     "matters and you access items by position. For example, phone = {'Ana': '555-0101'} finds Ana's number "
     'directly, while a list of names is better for keeping a queue in order.'),
    ('Write a Python one-liner that counts the vowels in a string s.',
     "count = sum(1 for ch in s.lower() if ch in 'aeiou')"),
    ('How do I create a new branch in Git?',
     'Run git switch -c feature-name to create a branch and move to it in one step; on older versions of Git '
     'use git checkout -b feature-name. To share it, push it with git push -u origin feature-name.'),
    ('Write a Python function that returns the largest number in a list without using max().',
     'def largest(numbers):\n    best = numbers[0]\n    for n in numbers[1:]:\n        if n > best:\n        '
     'best = n\n    return best\n\nIt assumes the list is not empty.'),
    ('What is a variable in programming?',
     'A variable is a named place to store a value so your program can use it later. In Python, age = 30 '
     'stores the number 30 under the name age. You can read it, use it in calculations and give it a new '
     'value as the program runs.'),
    ('How do I convert a string to an integer in Python?',
     "Call int(): int('42') returns 42. If the string might not be a number, for example when reading user "
     'input, wrap the call in a try block and catch ValueError.'),
    ('Write a Python dictionary with three fruits and their prices.',
     "prices = {\n    'apple': 0.50,\n    'banana': 0.25,\n    'cherry': 3.00,\n}\n\nLook up a price with "
     "prices['apple'], which gives 0.5."),
    ('What does HTML stand for and what is it used for?',
     'HTML stands for HyperText Markup Language. It is the standard language for structuring web pages, '
     'using tags such as <h1> for headings, <p> for paragraphs and <a> for links. Browsers read the HTML and '
     'display the content, while CSS handles the styling.'),
    ('Write a CSS rule that makes all paragraphs blue.',
     'p {\n  color: blue;\n}\n\nPut it in your stylesheet or inside a <style> tag, and every <p> element on '
     'the page will have blue text.'),
    ("Fix this Python code: print('Hello world)",
     "The closing quote is missing. It should be:\n\nprint('Hello world')"),
    ('How do I remove duplicates from a Python list but keep the order?',
     'Use dict.fromkeys, which keeps the first occurrence of each item in order:\n\nunique = '
     'list(dict.fromkeys(items))\n\nFor example, [3, 1, 3, 2, 1] becomes [3, 1, 2].'),
    ('What is a for loop?',
     "A for loop repeats a block of code once for each item in a sequence. In Python, for name in ['Ana', "
     "'Ben']: print(name) prints each name in turn. It's the usual way to process every element of a list, "
     'every character of a string or a range of numbers.'),
    ('Write a Python function that converts Celsius to Fahrenheit.',
     'def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32\n\nFor example, celsius_to_fahrenheit(100) '
     'returns 212.0.'),
    ("What does 'git status' show?",
     "git status shows the state of your working directory: which branch you're on, which files have "
     'changed, which changes are staged for the next commit and which files are untracked. It changes '
     "nothing, so it's safe to run at any time."),
    ('Write a regular expression that matches a five-digit number.',
     'Use \\b\\d{5}\\b. The \\d{5} part matches exactly five digits, and the \\b word boundaries stop it '
     "from matching five digits inside a longer number. In Python: re.findall(r'\\b\\d{5}\\b', text)."),
    ("How do I get today's date in Python?",
     'from datetime import date\n\nprint(date.today())\n\nThis prints the date as YYYY-MM-DD. Use '
     'datetime.now() from the same module if you also need the time.'),
    ('Explain what a bug is in software.',
     'A bug is a mistake in a program that makes it behave in an unexpected or wrong way, such as crashing, '
     'showing the wrong result or freezing. Bugs come from typos, faulty logic or situations the programmer '
     "didn't anticipate. Finding and fixing them is called debugging."),
    ('Write a list comprehension that makes a list of the squares from 1 to 10.',
     'squares = [n * n for n in range(1, 11)]\n\nThis gives [1, 4, 9, 16, 25, 36, 49, 64, 81, 100].'),
    ('What is JSON?',
     'JSON, short for JavaScript Object Notation, is a lightweight text format for storing and exchanging '
     'data. It uses key-value pairs in curly braces and lists in square brackets, like {"name": "Ada", '
     '"age": 36}. It\'s easy for people to read and for almost every programming language to parse.'),
    ('How do I sort a list of numbers from largest to smallest in Python?',
     'sorted(numbers, reverse=True) returns a new sorted list, and numbers.sort(reverse=True) sorts the list '
     'in place. For example, sorted([3, 9, 1], reverse=True) gives [9, 3, 1].'),
    ('Write a Python function that greets a person by name.',
     "def greet(name):\n    return f'Hi, {name}! Nice to meet you.'\n\nprint(greet('Maya'))  # Hi, Maya! "
     'Nice to meet you.'),
    ('What is the purpose of comments in code?',
     'Comments are notes in the code that the computer ignores. They explain why something is done, describe '
     'tricky logic, or leave reminders for other programmers and your future self. Good comments explain '
     'intent rather than repeating what the code obviously does.'),
]

SUMMARISATION = [
    ('Summarise: The council voted on Tuesday to build a playground beside the library. Work starts in May.',
     'The council approved a new playground next to the library, with construction starting in May.'),
    ('Give a one-line summary: Maria trained for months, twisted her ankle a week before the race, but still '
     'finished by walking the last mile.',
     'Despite an ankle injury just before the race, Maria finished by walking the final mile.'),
    ('TL;DR: Our office moves to 14 Harbour Street on 1 March. Please pack your desks by Friday 26 February.',
     'The office moves to 14 Harbour Street on 1 March; pack your desk by 26 February.'),
    ('What is the main idea? Regular sleep, daily movement and time outdoors all lift mood, and together '
     'they work better than any one alone.',
     'Sleep, exercise and time outside each improve mood, and combining them works best.'),
    ('Summarise in one sentence: Sales rose 12 percent this quarter, mostly from online orders, while '
     'in-store sales stayed flat.',
     'Sales grew 12 percent this quarter, driven almost entirely by online orders.'),
    ('Write a headline for this: A retired teacher has knitted 500 hats for newborns at the city hospital '
     'over three years.',
     'Retired Teacher Knits 500 Hats for Hospital Newborns'),
    ('Summarise: Whisk flour, eggs and milk, rest the batter for 30 minutes, then fry thin pancakes in '
     'butter.',
     'Make pancakes by whisking flour, eggs and milk, resting the batter, then frying thin rounds in butter.'),
    ('Condense into one sentence: The library will close early on Friday for staff training. Online '
     'services, including e-book loans, remain available.',
     'The library closes early on Friday for training, but its online services stay open.'),
    ("Briefly summarise: Sea otters often hold paws or wrap themselves in kelp while sleeping so they don't "
     'drift apart.',
     'Sea otters hold paws or wrap up in kelp so they stay together while they sleep.'),
    ('Sum this up in a few words: After two years of delays, the new bridge opened today, cutting commutes '
     'across the river by twenty minutes.',
     'The long-delayed bridge opened, saving commuters twenty minutes.'),
    ('Summarise this review: The hotel was spotless and the staff lovely, but thin walls and street noise '
     'kept us awake.',
     'A clean hotel with friendly staff, let down by thin walls and noisy nights.'),
    ('Give the gist: Octopuses hunting alongside fish sometimes punch them, possibly to stop partners '
     'stealing prey.',
     'Octopuses that hunt with fish occasionally punch them, perhaps to keep them from taking food.'),
    ("What's the key point? Starting to save early matters more than saving large amounts later, because "
     'interest has more years to compound.',
     'Saving early beats saving more later, thanks to extra years of compound interest.'),
    ('Summarise: Concert tickets go on sale Monday at 10 am. Each person may buy up to four, and there is no '
     'waiting list.',
     'Concert tickets go on sale Monday at 10 am, with a limit of four per person and no waiting list.'),
    ('One-sentence summary, please: The team tested three designs; the lightest was fastest but broke twice, '
     'so they chose the sturdier second one.',
     'After testing, the team picked the sturdy second design over the fast but fragile lightest one.'),
    ("Summarise the email: Hi all, Thursday's meeting moves to Friday at 2 pm in Room B. Same agenda. "
     'Thanks, Lee',
     "Lee has moved Thursday's meeting to Friday at 2 pm in Room B; the agenda is unchanged."),
    ('Summarise: Many cities plant trees along streets because shade lowers summer temperatures and cuts '
     'energy used for air conditioning.',
     'Cities plant street trees to cool summers and reduce air-conditioning use.'),
    ('Give a short summary: Ravi forgot his lines in the school play, improvised a joke, and it became the '
     'funniest scene.',
     "Ravi's improvised joke after forgetting his lines became the play's highlight."),
    ("TL;DR: The park's east gate is closed for repairs until June. Use the north entrance on Elm Road; "
     'parking is unchanged.',
     'Until June, enter the park by the north gate on Elm Road; parking stays the same.'),
    ('Summarise this product note: The new blender is quieter, has five speeds, and its jug is now '
     'dishwasher safe.',
     'The updated blender is quieter, offers five speeds and has a dishwasher-safe jug.'),
    ('What does this say, in short? Due to heavy snow, all schools in the district will open two hours late '
     'tomorrow.',
     'Schools will start two hours late tomorrow because of snow.'),
    ('Summarise: People remembered more words after a short walk than after sitting still for the same '
     'amount of time.',
     'A short walk helped people remember more words than sitting still did.'),
    ('Condense: Our café now offers oat milk at no extra charge, and from next week we open at 7 instead of '
     '8.',
     'The café adds free oat milk and will open an hour earlier, at 7, from next week.'),
    ("Give me the gist: The museum's new dinosaur hall has a life-size T. rex skeleton, touch screens and a "
     'fossil dig for kids.',
     "The museum's new dinosaur hall features a full-size T. rex, interactive screens and a kids' fossil "
     'dig.'),
    ('Summarise in under ten words: The flight to Oslo is delayed three hours because of fog.',
     'Oslo flight delayed three hours by fog.'),
    ('Summarise this feedback: Students liked the hands-on labs but found lectures too fast and wanted more '
     'practice problems.',
     'Students enjoyed the labs but want slower lectures and more practice problems.'),
    ("Briefly, what happened? The old oak in the square fell in last night's storm. Nobody was hurt, and a "
     'new one will be planted.',
     "A storm toppled the square's old oak without injuring anyone, and a replacement will be planted."),
    ('Summarise: Drinking water through the day helps concentration, and mild dehydration can cause '
     'headaches and tiredness.',
     'Staying hydrated aids focus, while even mild dehydration can bring headaches and fatigue.'),
    ('Write a one-line summary: The volunteer group collected 300 kilograms of litter from the beach in a '
     'single morning.',
     'Volunteers cleared 300 kg of beach litter in one morning.'),
    ('Summarise: Jess wanted a dog, but her landlord bans pets, so she walks dogs at a shelter on weekends.',
     'Since her landlord bans pets, Jess walks shelter dogs on weekends instead.'),
]

ADVICE = [
    ('I get nervous before presentations. Any tips?',
     'Nerves are normal and often mean you care. Rehearse out loud several times, especially your opening. '
     'Before you start, take a few slow breaths, breathing out longer than you breathe in. Focus on helping '
     'the audience understand one key message rather than on being perfect; they are usually on your side.'),
    ('How can I stay motivated when learning a musical instrument?',
     'Set small, specific goals, like mastering one song or scale a week, and record yourself each month so '
     'you can hear your progress. Practise a little every day rather than for hours once a week. Play music '
     'you actually love, and find someone to play with; a duet partner or group makes practice fun.'),
    ('What should I consider when buying my first car?',
     'Set a total budget that includes insurance, fuel, tax and maintenance, not just the price. Think about '
     'what you need day to day, like size and fuel economy. For a used car, check its service history, get '
     'an independent inspection and take a test drive on different roads.'),
    ('My friend and I had an argument. How can I make things right?',
     'Give yourselves a little time to cool down, then reach out privately. Start by acknowledging your '
     "part, without adding 'but'. Ask how they saw the situation and really listen before explaining yours. "
     'Remember that repairing the friendship matters more than winning the point.'),
    ('How do I deal with a messy roommate?',
     'Talk early, calmly and in person rather than leaving notes. Describe specific issues, like dishes left '
     'overnight, and suggest a simple system, such as a cleaning rota. Ask what bothers them too, so it '
     'feels fair, and check in after a couple of weeks.'),
    ('Any advice for my first week at a new job?',
     'Focus on listening and learning. Introduce yourself to your team, write down names and processes, and '
     'ask questions early rather than guessing. Find out how your manager likes to communicate and what '
     'success looks like in your first months. Doing small tasks well builds trust quickly.'),
    ('How can I waste less food at home?',
     "Plan meals before you shop and buy only what's on the list. Store food properly, keep older items at "
     'the front of the fridge, and freeze bread, leftovers and ripe fruit before they go off. Turn odds and '
     "ends into soups, omelettes or smoothies, and learn the difference between 'use by' and 'best before' "
     'dates.'),
    ("How do I keep a conversation going with someone I've just met?",
     "Ask open questions that start with 'what' or 'how' rather than ones with yes-or-no answers. Listen for "
     "details in their replies and ask about those, like 'How did you get into that?' Share a little about "
     "yourself too, and don't worry about short pauses; they're natural."),
    ("What's a good way to start reading more books?",
     'Set a small goal, like ten pages a day, and keep a book wherever you usually reach for your phone. '
     'Choose books you actually enjoy rather than ones you think you should read, and feel free to drop one '
     "that isn't working. Audiobooks count too."),
    ('How should I prepare for a long flight?',
     'Wear comfortable layers and bring a neck pillow, earplugs or headphones and an eye mask. Drink plenty '
     'of water and go easy on caffeine. Get up to walk and stretch every couple of hours, and download films '
     'or podcasts in advance. Keep snacks, medication and a charger in your carry-on.'),
    ('I want to be more organised. Where should I start?',
     'Start with one system rather than changing everything at once. A single calendar for appointments and '
     'one to-do list for tasks is a solid foundation. Spend five minutes each evening planning tomorrow, and '
     'give keys and documents a fixed home. Once that feels automatic, add another habit.'),
    ('How do I give feedback to a coworker without upsetting them?',
     'Choose a private moment and keep it specific and about the work, not the person. Describe what you '
     "noticed, explain its effect and suggest what could help, for example: 'The report was missing the "
     "sales figures, so the client had questions. Could we add a checklist?' Mention what went well too."),
    ('What should I keep in a car emergency kit?',
     'Keep a first-aid kit, a torch with spare batteries, jump leads, a warning triangle, a blanket, water '
     'and a few snack bars. Add an ice scraper and de-icer in winter, a phone charger, a high-visibility '
     'vest, and a basic tool kit with a tyre pressure gauge.'),
    ('How can I make my mornings less rushed?',
     'Do as much as possible the night before: lay out clothes, pack your bag and prepare breakfast or '
     'lunch. Get up with your first alarm rather than snoozing. Keep keys and essentials in the same spot, '
     "and build in ten spare minutes so small surprises don't make you late."),
    ('Which houseplants do well in a dark room?',
     'Good choices for low light are the snake plant, ZZ plant, pothos and cast-iron plant. They grow slowly '
     'in shade, so water them sparingly and let the soil dry out between waterings. Even these need some '
     'daylight, so place them where they can see a window.'),
    ("I'm starting university soon. Any tips?",
     "Go to the events in the first weeks and say yes to invitations; that's when friendships form. Attend "
     "lectures even when they're optional, and start assignments early. Learn to cook a few simple meals, "
     'track your budget, and find the library and student support services before you need them.'),
    ('How can I be a better listener?',
     'Give the person your full attention: put your phone away and make eye contact. Let them finish without '
     "planning your reply, and ask follow-up questions. Reflect back what you heard, for example 'It sounds "
     "like you felt overlooked', to check you understood, and resist jumping straight to advice."),
    ("What's the best way to keep in touch with friends who live far away?",
     'Schedule regular video calls instead of waiting for a free moment, and keep a group chat going with '
     'small updates and photos. Send the occasional postcard, watch a show together online, and plan a visit '
     "once or twice a year so there's always something to look forward to."),
    ('How can I make my commute more enjoyable?',
     'Turn it into time for yourself: listen to an audiobook, a podcast series or a playlist you save for '
     "the journey. If you're on a train or bus, read, plan your day or learn a few words of a language. If "
     "possible, cycle or walk part of the way, and leave a few minutes early so you aren't rushing."),
    ('How should I ask my manager for a raise?',
     'Book a private meeting, ideally after a strong result or during a review. Prepare evidence: your '
     'achievements, extra responsibilities and what similar roles pay. Ask for a specific figure and explain '
     "why it's fair. If the answer is 'not now', ask what you'd need to do and when you can revisit it."),
    ('What should I do if I feel overwhelmed by my workload?',
     'Write down everything you have to do, then sort it by urgency and importance. Talk to your manager '
     'about priorities and deadlines; they may not realise how much is on your plate. Break big tasks into '
     'small steps, protect time for focused work, and keep taking short breaks.'),
    ('How do I pick a ripe watermelon?',
     'Look for one that feels heavy for its size, with a creamy yellow patch where it rested on the ground. '
     'The skin should be dull rather than shiny, and tapping it should give a deep, hollow sound. Avoid '
     'melons with soft spots or cracks.'),
    ('How can I make a long car journey fun for children?',
     'Plan stops every two hours for snacks and stretching. Pack a bag for each child with small toys, books '
     'and activity pads, and hand out something new every hour or so. Play games like I Spy, sing along to a '
     'playlist they chose, and listen to an audiobook the whole family enjoys.'),
    ("I'm new to the gym. What should my first few weeks look like?",
     'Start with three full-body sessions a week. Warm up for five minutes, then do three sets of about ten '
     'squats, push-ups, rows and lunges, plus a plank. Use a weight that feels challenging by the last few '
     'reps, rest a day between sessions, and add weight gradually as it gets easier.'),
    ('How do I make friends in a new city?',
     'Join something that meets regularly, like a running club, choir, language exchange or volunteering '
     'group; seeing the same faces each week builds friendships naturally. Say yes to invitations, suggest '
     'coffee with people you click with, and be patient, since it usually takes a few months.'),
    ('How can I take better photos with my phone?',
     'Clean the lens first, then use natural light, ideally the soft light of early morning or late evening. '
     'Tap the screen to focus on your subject and slide to adjust brightness. Turn on the grid to place '
     'subjects off-centre, move closer instead of zooming, and hold the phone steady with both hands.'),
    ('How do I keep my houseplants alive during a two-week holiday?',
     'Water thoroughly just before you leave and move plants away from sunny windows so they dry out more '
     'slowly. Group them together to keep the air humid. For thirsty plants, run a wick from a jar of water '
     'into the soil, or ask a neighbour to water them once.'),
    ('What should I look for when renting a flat?',
     'Check the total monthly cost including bills, the length of the contract and the deposit terms. At the '
     'viewing, look for damp, mould and signs of pests, test the water pressure and heating, and check the '
     'phone signal. Visit the area at different times of day before signing.'),
    ("How can I get better at remembering people's names?",
     "Repeat the name as soon as you hear it, for example 'Nice to meet you, Sofia', and use it once more "
     'during the conversation. Link it to something vivid, like a friend with the same name or a picture it '
     'suggests. Write new names down afterwards with a detail about the person, and review them before you '
     'meet again.'),
    ('How can I eat more vegetables?',
     'Add them to meals you already like: spinach in pasta sauce, peppers in omelettes, grated carrot in '
     'burgers. Keep washed, chopped vegetables at eye level in the fridge for snacking, roast a big tray at '
     'the start of the week, and aim to fill half your plate with vegetables at dinner.'),
]

KNOWLEDGE = [
    ('What is the capital of Australia?',
     'Canberra is the capital of Australia, not Sydney as many people assume. It was purpose-built as a '
     'compromise between Sydney and Melbourne, and Parliament moved there in 1927.'),
    ("Who wrote 'Pride and Prejudice'?",
     "Jane Austen wrote 'Pride and Prejudice', first published in 1813. It follows Elizabeth Bennet and her "
     'changing opinion of the proud Mr Darcy.'),
    ('How many planets are in our solar system?',
     'There are eight planets: Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus and Neptune. Pluto was '
     'reclassified as a dwarf planet in 2006.'),
    ('What is the largest ocean on Earth?',
     "The Pacific is the largest ocean, covering about a third of Earth's surface. It is bigger than all of "
     "the planet's land area combined."),
    ('Who painted the Mona Lisa?',
     'Leonardo da Vinci painted the Mona Lisa in the early 1500s. It hangs in the Louvre in Paris and is one '
     'of the most famous paintings in the world.'),
    ('At what temperature does water boil at sea level?',
     'At sea level, water boils at 100 degrees Celsius, or 212 degrees Fahrenheit. Higher up, the air '
     'pressure is lower, so water boils at a lower temperature.'),
    ('Which planet is known as the Red Planet?',
     'Mars. Iron oxide, essentially rust, in its soil and dust gives it a reddish colour.'),
    ('What is the chemical symbol for gold?',
     "Au, from the Latin word 'aurum'. Gold's atomic number is 79."),
    ('How many continents are there?',
     'By the most common count there are seven: Africa, Antarctica, Asia, Australia (or Oceania), Europe, '
     'North America and South America. Some systems combine Europe and Asia, or the two Americas.'),
    ('What is the tallest mountain in the world?',
     'Mount Everest, on the border of Nepal and China, is the tallest mountain above sea level at about '
     '8,849 metres. Measured from base to peak, Mauna Kea in Hawaii is taller, but much of it lies under the '
     'sea.'),
    ('Who developed the theory of relativity?',
     'Albert Einstein: special relativity in 1905 and general relativity in 1915. His work changed how '
     'scientists understand space, time and gravity.'),
    ('What is the longest river in Africa?',
     'The Nile, which flows about 6,650 kilometres north to the Mediterranean Sea. It is often listed as the '
     'longest river in the world, though some measurements favour the Amazon.'),
    ('Which is the longest river in South America?',
     'The Amazon, which flows about 6,400 kilometres from the Andes in Peru to the Atlantic coast of Brazil. '
     'It carries more water than any other river on Earth.'),
    ('Which gas do plants absorb from the air?',
     'Plants absorb carbon dioxide. They use it, along with water and sunlight, to make sugars during '
     'photosynthesis, releasing oxygen in the process.'),
    ('What is the smallest prime number?',
     '2 is the smallest prime number. It is also the only even prime, since every other even number can be '
     'divided by 2.'),
    ('Who was the first woman to win a Nobel Prize?',
     'Marie Curie, who shared the 1903 Nobel Prize in Physics. She later won the 1911 prize in Chemistry, '
     'becoming the first person to win Nobel Prizes in two different sciences.'),
    ('Which language has the most native speakers?',
     'Mandarin Chinese has the most native speakers, roughly 900 million or more. Spanish and English '
     'follow, although English has more speakers overall once second-language speakers are counted.'),
    ('What is the freezing point of water in Fahrenheit?',
     'Water freezes at 32 degrees Fahrenheit, which is 0 degrees Celsius.'),
    ('How many bones are in the adult human body?',
     'An adult has 206 bones. Babies are born with around 270, but many of them fuse together during '
     'childhood.'),
    ('What is the hardest natural substance?',
     'Diamond. It is made of carbon atoms locked in a very strong crystal structure, which is why it is used '
     'in cutting and drilling tools.'),
    ('Where do kangaroos come from?',
     'Kangaroos are native to Australia, where they are a national symbol and appear on the coat of arms. A '
     'few related tree kangaroos also live in New Guinea.'),
    ("Who wrote 'Hamlet'?",
     'William Shakespeare, around 1600. The play follows Prince Hamlet of Denmark as he seeks revenge for '
     "his father's murder."),
    ('What is the largest mammal?',
     'The blue whale, which is also the largest animal known to have ever lived. It can grow to around 30 '
     'metres long and weigh more than 150 tonnes.'),
    ('What currency is used in Japan?',
     'Japan uses the yen, abbreviated JPY. Coins and notes range from the 1 yen coin to the 10,000 yen note.'),
    ('When did the Titanic sink?',
     'In the early hours of 15 April 1912. The ship hit an iceberg on its first voyage, from Southampton to '
     'New York, and more than 1,500 people died.'),
    ('What is the main ingredient in guacamole?',
     'Avocado. It is mashed with lime juice and salt, usually with onion, coriander and often tomato and '
     'chilli.'),
    ('How many sides does a hexagon have?',
     'Six. A hexagon has six sides and six angles; the cells of a honeycomb are a well-known natural '
     'example.'),
    ('Who discovered penicillin?',
     'Alexander Fleming discovered penicillin in 1928, when he noticed that a mould called Penicillium had '
     'killed the bacteria growing on one of his culture plates. It became the first widely used antibiotic '
     'in the 1940s.'),
    ('What is the largest desert in the world?',
     'Counting cold deserts, Antarctica is the largest, since it gets very little precipitation. The largest '
     'hot desert is the Sahara in northern Africa, roughly the size of the United States.'),
    ('Which organ produces insulin?',
     'The pancreas, in clusters of cells called the islets of Langerhans. Insulin helps move sugar from the '
     'blood into cells, where it is used for energy.'),
    ('What is the capital of Canada?',
     'Ottawa is the capital of Canada. It lies in the province of Ontario, on the Ottawa River across from '
     'Quebec.'),
    ('How long does it take Earth to orbit the Sun?',
     'About 365.25 days. The extra quarter of a day is why a leap day is added every four years.'),
    ("What is the most abundant gas in Earth's atmosphere?",
     'Nitrogen, at about 78 percent. Oxygen makes up about 21 percent, and most of the rest is argon, with '
     'small amounts of carbon dioxide.'),
    ("Who composed the 'Moonlight Sonata'?",
     'Ludwig van Beethoven, in 1801; it is his Piano Sonata No. 14. The nickname came later, from a critic '
     'who compared the first movement to moonlight on a lake.'),
    ('Which is the smallest country in the world?',
     'Vatican City, at about 0.44 square kilometres. It is an independent city-state surrounded by Rome.'),
    ('What do bees make from nectar?',
     'Honey. Bees collect nectar from flowers, add enzymes and store it in honeycomb cells, fanning it with '
     'their wings until most of the water evaporates.'),
    ('What is the largest planet in our solar system?',
     'Jupiter, a gas giant more than eleven times wider than Earth. Its Great Red Spot is a storm bigger '
     'than our whole planet.'),
    ('Which instrument has 88 keys?',
     'A standard piano has 88 keys, 52 white and 36 black, spanning just over seven octaves.'),
    ('What language is mainly spoken in Brazil?',
     'Portuguese, a legacy of Portuguese colonisation. Brazil has more Portuguese speakers than any other '
     'country, including Portugal.'),
    ('How many seconds are in an hour?',
     '3,600: 60 minutes multiplied by 60 seconds per minute.'),
    ('What is the capital of Kenya?',
     "Nairobi, which is also Kenya's largest city. It is known for Nairobi National Park, where wildlife "
     'roams within sight of the city skyline.'),
    ('What is the chemical formula for water?',
     'H2O: each water molecule has two hydrogen atoms bonded to one oxygen atom.'),
    ('Which blood type is called the universal donor?',
     'O negative is the universal donor for red blood cells. It lacks the A, B and RhD antigens, so it can '
     'be given to patients of any blood type in an emergency.'),
    ('What is the longest bone in the human body?',
     'The femur, or thigh bone, is the longest and strongest bone in the body. It runs from the hip to the '
     'knee.'),
    ('Who was the first person to reach the South Pole?',
     'Roald Amundsen, the Norwegian explorer, whose team reached the South Pole on 14 December 1911, about '
     "five weeks ahead of Robert Falcon Scott's British expedition."),
]

PLANNING = [
    ('Plan a relaxing Sunday for me.',
     'Start with a slow breakfast and no alarm. Mid-morning, take a walk somewhere green or visit a local '
     'market. After lunch, read, nap or do a small creative project. In the late afternoon, tidy up for ten '
     'minutes and prepare for the week ahead. Finish with a home-cooked dinner, a film and an early night.'),
    ('Make a three-day meal plan for a vegetarian.',
     'Day 1: oats with berries; lentil soup; tofu and vegetable stir-fry with rice.\nDay 2: yoghurt with '
     'granola; hummus and salad wrap; spinach and ricotta pasta.\nDay 3: scrambled eggs on toast; quinoa '
     'salad with chickpeas; bean chilli with a baked potato.'),
    ('Create a simple weekly cleaning schedule.',
     'Monday: kitchen surfaces and sink.\nTuesday: bathroom.\nWednesday: dust the living areas.\nThursday: '
     'vacuum and mop floors.\nFriday: laundry and fresh bed sheets.\nSaturday: clear out the fridge and take '
     'out the rubbish.\nSunday: rest, with a ten-minute tidy in the evening.'),
    ("Help me plan a one-day trip to a city I've never visited.",
     'Start early with a walking tour or a stroll through the old town to get your bearings. Visit the one '
     'museum or landmark you most want to see before it gets busy. Have lunch where locals eat, spend the '
     'afternoon at a market, park or viewpoint, and end with dinner near your station.'),
    ('Plan a stretching session for after a run.',
     'Walk for three minutes to cool down. Then hold each stretch for about 30 seconds per side: calves '
     'against a wall, hamstrings with one heel on a low step, quads standing on one leg, hip flexors in a '
     'lunge and glutes lying with one ankle over the other knee. Finish with a few slow, deep breaths.'),
    ('Outline a study plan for an exam in two weeks.',
     'Week 1: list all the topics, then study two or three a day, making summary notes and flashcards. Week '
     '2: do past papers under timed conditions, review your mistakes and revisit weak topics. Keep the last '
     'two days for light review and rest, and study in 45-minute blocks with breaks.'),
    ('Plan a small birthday party for a seven-year-old.',
     'Invite eight to ten friends for two hours on a weekend afternoon and pick a theme, like space or '
     'animals. Begin with 20 minutes of crafts as guests arrive, then 40 minutes of games such as musical '
     'statues and a treasure hunt, 30 minutes for food and cake, and a final game before party bags.'),
    ('Plan a weekly routine for keeping a small aquarium clean.',
     'Daily: feed the fish a small pinch they can finish in two minutes, and check that the filter and '
     'heater are working. Weekly: replace about 20 percent of the water with dechlorinated water at the same '
     'temperature and wipe algae off the glass. Monthly: rinse the filter sponge in old tank water, not tap '
     'water.'),
    ('Plan a weekend hiking trip for beginners.',
     'Choose a well-marked trail of 8 to 12 kilometres with modest climbs. On Saturday, hike in the morning, '
     'picnic at a viewpoint and stay at a campsite or guesthouse nearby. On Sunday, take a shorter loop and '
     'head home after lunch. Check the weather, tell someone your route and pack water and layers.'),
    ('Create a timeline for planning a wedding in one year.',
     '12 months out: set the budget, guest list and date, and book the venue. 10 months: book the '
     'photographer, caterer and music. 8 months: choose outfits and send save-the-dates. 3 months: send '
     'invitations. 1 month: final fittings and menu. 1 week: confirm every supplier, then relax.'),
    ('Plan a budget-friendly week of dinners for a family of four.',
     'Monday: lentil bolognese with spaghetti. Tuesday: chickpea and vegetable curry with rice. Wednesday: '
     'baked potatoes with beans and cheese. Thursday: egg fried rice. Friday: homemade flatbread pizzas. '
     'Saturday: chicken and vegetable traybake. Sunday: a big pot of soup with crusty bread.'),
    ('Help me plan my first vegetable bed.',
     'Pick a sunny spot with at least six hours of light. Mark out a bed about 1.2 metres wide so you can '
     'reach the middle, and fill it with soil mixed with compost. Start with easy crops like lettuce, '
     'radishes, beans, courgettes and herbs, and water deeply twice a week.'),
    ('Plan a productive afternoon working from home.',
     '1:00 Lunch away from your desk. 1:30 An hour of focused work on your hardest task with notifications '
     'off. 2:30 Short walk. 2:45 Meetings and calls. 3:45 Answer emails in one batch. 4:30 Small tasks and '
     "admin. 5:15 Write tomorrow's to-do list and close the laptop."),
    ('Make a packing list for a beach holiday.',
     'Swimwear, sunscreen, sunglasses, a sun hat, flip-flops, a beach towel, light clothes, a reusable water '
     'bottle, a book, a waterproof phone pouch, after-sun lotion, a small first-aid kit, chargers, travel '
     'documents and a bag for wet clothes.'),
    ('Plan a two-hour workshop for brainstorming new product ideas.',
     '0:00 Welcome and goals. 0:10 Warm-up game. 0:20 Review customer problems. 0:40 Silent idea writing on '
     'sticky notes. 1:00 Share and group similar ideas. 1:20 Vote on the top three. 1:35 Sketch each in '
     'small groups. 1:50 Agree next steps and owners.'),
    ('Plan a reading challenge for the year.',
     'Aim for two books a month with a different theme each month: a classic in January, a memoir in '
     'February, a translated novel in March, poetry in April, and so on. Mix short and long books, keep a '
     'log with a one-line review of each, and invite a friend to join you.'),
    ('Help me plan a surprise dinner for my partner.',
     "Choose an evening when they're free and invent a simple cover story. Cook a favourite meal or a dish "
     'from a special trip, preparing what you can in advance. Set the table with candles and music they '
     'love, add a small touch like a photo from when you met, and keep the evening relaxed.'),
    ('Plan a daily practice schedule for learning guitar.',
     'Practise for 30 minutes a day: 5 minutes tuning and warming up your fingers, 10 minutes on chords and '
     'switching between them, 5 minutes on strumming with a metronome, and 10 minutes playing a simple song '
     'you like. Record yourself once a week to hear your progress.'),
    ('Create an itinerary for a rainy day in a city.',
     'Morning: a big museum or gallery, arriving at opening time. Lunch: a cosy café or covered food market. '
     'Afternoon: an indoor attraction like an aquarium, a theatre tour or a bookshop crawl. Evening: '
     'dinner, then a film, concert or comedy show close to your hotel.'),
    ('Plan a week of simple packed lunches.',
     'Monday: hummus and roasted vegetable wrap. Tuesday: pasta salad with tuna or beans. Wednesday: '
     'leftover curry with rice. Thursday: cheese and salad sandwich. Friday: couscous with feta, cucumber '
     'and mint. Add a piece of fruit and a handful of nuts each day.'),
    ('Help me plan a garage sale.',
     'Pick a Saturday and advertise a week ahead online and on local notice boards. Sort items into groups '
     'and price them with stickers, using simple round amounts. Set up tables early, keep change in a cash '
     'box and have bags ready. Donate whatever is left at the end of the day.'),
    ('Plan a fun afternoon for a grandparent and a grandchild.',
     'Start with a walk to a park or duck pond. Back home, bake something simple together, like scones. '
     'While it cools, look through old family photos and share stories. Finish with a card game the '
     'grandparent once taught their own children.'),
    ('Make a plan for decluttering my home over one month.',
     'Week 1: clothes and shoes. Week 2: kitchen cupboards and the fridge. Week 3: books, papers and the '
     'desk. Week 4: bathroom, garage and storage. Spend 20 minutes a day sorting things into keep, donate, '
     'recycle and bin, and drop off donations at the end of each week.'),
    ('Plan an evening routine that helps me sleep better.',
     'Finish eating about two hours before bed and dim the lights. An hour before, turn off screens and '
     'prepare for tomorrow. Then take a warm shower, read or stretch gently, and jot down anything on your '
     'mind. Keep the bedroom cool and dark, and go to bed at the same time every night.'),
    ("Plan my first visit to a farmers' market.",
     'Go early for the best choice, or late for bargains. Bring cash, reusable bags and a cool bag for dairy '
     "or meat. Walk round once before buying to compare stalls, ask growers what's in season and how they'd "
     'cook it, and pick one new thing to try.'),
]

COMPARISON = [
    ('What is the difference between a comet and an asteroid?',
     'Both are leftovers from the formation of the solar system, but asteroids are mostly rock and metal and '
     'orbit mainly between Mars and Jupiter. Comets are made of ice, dust and rock and come from the cold '
     'outer solar system; near the Sun their ice turns to gas, forming a glowing head and long tail.'),
    ('Compare cats and dogs as pets.',
     "Cats are independent, need less space and don't need walks, which suits busy people and small flats. "
     'Dogs need more time, training and exercise, but they are very social and eager to join in. Both live '
     'for many years, so the best choice depends on your routine and home.'),
    ("What's the difference between a cold and the flu?",
     'Both are viral infections of the airways, but flu usually comes on suddenly with fever, aches and '
     'exhaustion, while a cold builds gradually with a runny nose, sneezing and a sore throat. Flu tends to '
     'be more severe and can lead to complications, and there is a yearly vaccine for it.'),
    ('Compare a gas hob and an induction hob.',
     'Induction hobs heat the pan directly with a magnetic field, so they are faster, more efficient and '
     'easier to clean, and the surface stays cooler. Gas gives instant, visible flame control and works with '
     'any pan, but wastes more heat. Induction needs magnetic cookware, such as cast iron or most stainless '
     'steel.'),
    ("What is the difference between 'complement' and 'compliment'?",
     "A 'complement' is something that completes or goes well with something else: 'The sauce is a perfect "
     "complement to the fish.' A 'compliment' is a kind remark: 'She paid me a compliment on my garden.' "
     'Remember: a compliment is something I like to hear.'),
    ('Compare tea and coffee.',
     'Coffee usually has more caffeine, roughly 80 to 100 mg a cup against 30 to 50 mg in black tea, so it '
     'gives a stronger boost. Tea offers a gentler lift and a wide range of flavours, from green to herbal. '
     'Both contain antioxidants and are fine in moderation.'),
    ('How can I tell a crocodile from an alligator?',
     'Alligators have wide, U-shaped snouts, and with the mouth closed their lower teeth are mostly hidden. '
     'Crocodiles have narrower, V-shaped snouts, and their lower teeth stay visible. Alligators live mainly '
     'in the southern United States and China, while crocodiles are far more widespread.'),
    ('Compare walking and cycling for commuting.',
     "Cycling is faster, so it covers longer distances, often up to 10 or 15 kilometres, and it's good "
     'cardio. Walking is slower but needs no equipment, combines easily with public transport and has no '
     'parking worries. Both save money and fit exercise into your day.'),
    ("What's the difference between a simile and a metaphor?",
     "Both compare two things, but a simile uses 'like' or 'as', while a metaphor states the comparison "
     "directly. 'Her voice was like honey' is a simile; 'her voice was honey' is a metaphor. Metaphors tend "
     'to be bolder.'),
    ('Compare e-books and printed books.',
     'E-books are light and cheap to store, let you carry hundreds of titles, and let you adjust the font '
     'and read in the dark. Printed books need no battery, can be lent and resold, and many people find them '
     'more pleasant and easier to remember. Plenty of readers use both.'),
    ('What is the difference between an ocean and a sea?',
     'Oceans are the five vast bodies of salt water that cover most of Earth: the Pacific, Atlantic, Indian, '
     'Southern and Arctic. Seas are smaller, usually partly enclosed by land and found at the edges of '
     'oceans, like the Mediterranean or the Caribbean.'),
    ('Compare butter and olive oil for cooking.',
     'Butter adds rich flavour and helps baked goods turn tender and golden, but it burns at a lower '
     'temperature. Olive oil handles medium-high heat better, suits roasting and dressings, and contains '
     'mostly unsaturated fats. Many cooks use oil for frying and butter for baking or finishing a sauce.'),
    ('What is the difference between hardware and software?',
     'Hardware is the physical parts of a computer you can touch, such as the keyboard, screen, processor '
     'and memory. Software is the programs that run on it, like the operating system, a browser or a game. '
     'Hardware does the work; software tells it what to do.'),
    ('Compare a savings account and an investment account.',
     'A savings account keeps money safe and easy to reach, with a small, predictable interest rate. An '
     'investment account holds things like shares or funds that can grow much more over time but can also '
     "fall. Savings suit emergency funds; investing suits money you won't need for years."),
    ("How do I use 'there', 'their' and 'they're'?",
     "'There' points to a place or introduces something: 'The keys are over there.' 'Their' shows ownership: "
     "'Their car is red.' 'They're' is short for 'they are': 'They're arriving at six.' If you can say 'they "
     "are' instead, use 'they're'."),
    ('Is summer or winter better for visiting the mountains?',
     'Each has its charm. Summer brings long days, open trails, wildflowers and mild weather for hiking and '
     'lakes, though popular spots get crowded. Winter offers skiing, snowshoeing and cosy evenings, but days '
     'are short and some roads close. Choose by the activities you enjoy most.'),
    ('What is the difference between a frog and a toad?',
     'Frogs usually have smooth, moist skin and long legs for leaping, and they live near water. Toads tend '
     'to have dry, bumpy skin and shorter legs, and can live farther from water. Both are amphibians; in '
     'fact, toads are a kind of frog.'),
    ('Compare email and instant messaging for work.',
     'Email suits longer, formal or non-urgent messages, with clear records and room for attachments. '
     'Instant messaging is better for quick questions and fast back-and-forth, but it can be distracting and '
     'harder to search later. Many teams chat for coordination and email for decisions.'),
    ('What is the difference between speed and velocity?',
     'Speed tells you how fast something moves, like 50 km/h. Velocity tells you how fast and in which '
     "direction, like 50 km/h north. That's why a car driving round a circle at a steady speed has a "
     'constantly changing velocity.'),
    ('Should I learn piano or guitar first?',
     'Either works. Piano lays out the notes in a straight line, which makes music theory easier to see, and '
     'lets you play melody and harmony together. Guitar is portable, cheaper to start and quick for '
     'accompanying songs with a few chords, though the strings hurt at first. Pick the one whose music you '
     'love.'),
    ("What's the difference between a hurricane and a tornado?",
     'A hurricane is a huge storm hundreds of kilometres across that forms over warm oceans and can last for '
     'days. A tornado is a narrow, violently spinning column of air touching the ground, often only a few '
     'hundred metres wide, that usually lasts minutes. Hurricanes affect far larger areas.'),
    ('Compare running outdoors and on a treadmill.',
     'Outdoor running offers fresh air, changing scenery and uneven terrain that works more muscles, but it '
     "depends on weather and daylight. A treadmill is predictable, cushioned and easy to control, and it's "
     'available any time. A 1 percent incline makes treadmill running feel closer to outdoors.'),
    ("What's the difference between 'lie' and 'lay'?",
     "'Lie' means to recline and takes no object: 'I lie on the sofa.' 'Lay' means to put something down and "
     "needs an object: 'Lay the book on the table.' The tricky part is that the past tense of 'lie' is "
     "'lay': 'Yesterday I lay in the sun.'"),
    ('Is it better to take the train or fly for a 500-kilometre trip?',
     'For around 500 kilometres, a fast train is often as quick door to door as flying, because stations are '
     "central and there's no long security check. Trains also let you work and move around, and usually emit "
     'far less carbon. Flying wins when the rail link is slow or much more expensive.'),
    ("What's the difference between a wasp and a bee?",
     'Bees are usually hairy and rounder, feed on nectar and pollen, and are important pollinators. Wasps '
     'are smoother and slimmer with a narrow waist, and many hunt insects to feed their young. Honeybees '
     'generally sting only to defend the hive, while wasps can sting repeatedly.'),
    ('Compare a laptop and a desktop computer for a student.',
     'A laptop is portable, so you can take it to class and the library, and it has a built-in battery, '
     'screen and keyboard. A desktop gives more power and a bigger screen for the money and is easier to '
     'upgrade, but it stays at home. Most students choose a laptop for flexibility.'),
    ("What's the difference between a lake and a pond?",
     "There's no strict rule, but lakes are generally larger and deeper. In a pond, sunlight usually reaches "
     "the bottom, so plants can grow all across it, while lakes have deep zones that light doesn't reach. "
     'Lakes also tend to have waves and a cold layer of water at depth.'),
    ('Compare reading a book and watching its film adaptation.',
     "A book can explore characters' thoughts, add detail and let you imagine the world at your own pace. A "
     'film tells the story in a couple of hours with images, music and acting, but often trims subplots. '
     'Reading first gives you the full story; watching first can make a dense book easier to follow.'),
    ('What is the difference between mass and weight?',
     'Mass is the amount of matter in an object, measured in kilograms, and it stays the same everywhere. '
     'Weight is the force of gravity on that mass, measured in newtons, so it changes with location. An '
     'astronaut on the Moon has the same mass but weighs about a sixth as much.'),
    ('Which uses less water, washing dishes by hand or a dishwasher?',
     'A modern, fully loaded dishwasher usually uses less water and energy than washing the same load by '
     'hand, and it saves time. Hand-washing is still better for delicate items, wooden boards and good '
     'knives. Scraping plates instead of rinsing them first saves even more water.'),
]

VOCABULARY = [
    ("What does 'ephemeral' mean?",
     "'Ephemeral' means lasting for a very short time. For example: 'The cherry blossoms are ephemeral; they "
     "fall within a week.'"),
    ("Define 'resilient' and use it in a sentence.",
     "Resilient means able to recover quickly from difficulties. Example: 'After losing the first match, the "
     "resilient team won the next three.'"),
    ("What are some synonyms for 'happy'?",
     "Joyful, cheerful, content, glad and delighted. 'Content' suggests quiet satisfaction, while "
     "'delighted' is stronger and more excited."),
    ("What is the opposite of 'generous'?",
     "Stingy is the most common opposite of 'generous'. Other antonyms include 'selfish' and 'miserly', "
     'which describe someone unwilling to share money, time or things.'),
    ("What does 'procrastinate' mean?",
     "To procrastinate is to keep putting off something you should do now. Example: 'He procrastinated on "
     "his essay all week and wrote it the night before it was due.'"),
    ("Use the word 'meticulous' in a sentence.",
     "'She kept meticulous notes of every experiment, recording the time, temperature and result of each "
     "step.' Meticulous means showing great attention to detail."),
    ("What does the idiom 'break the ice' mean?",
     'To break the ice is to say or do something that eases tension and gets a conversation started, '
     "especially when people meet for the first time. Example: 'A quick game helped break the ice at the "
     "start of the workshop.'"),
    ("What does 'ubiquitous' mean?",
     "'Ubiquitous' describes something that seems to be everywhere at once. Example: 'Smartphones have "
     "become ubiquitous; you see them on every bus and in every café.'"),
    ("Give three synonyms for 'big'.",
     "Large, huge and enormous. 'Large' is neutral, 'huge' is stronger, and 'enormous' suggests something "
     'exceptionally big.'),
    ("What does 'once in a blue moon' mean?",
     "It means very rarely. Example: 'My cousin lives abroad, so we only see him once in a blue moon.' A "
     'blue moon is an extra full moon that happens only every two or three years.'),
    ("What is the plural of 'cactus'?",
     "Both 'cacti' and 'cactuses' are correct. 'Cacti' follows the Latin pattern and is more common in "
     "writing, while 'cactuses' is the regular English plural."),
    ("What does 'nostalgia' mean?",
     'Nostalgia is a sentimental longing for the past, often for a time or place with happy memories. '
     "Example: 'The smell of pine trees fills me with nostalgia for childhood camping trips.'"),
    ("Explain the meaning of 'a piece of cake'.",
     "Something that is 'a piece of cake' is very easy to do. Example: 'After all that practice, the driving "
     "test was a piece of cake.'"),
    ("What is an antonym for 'ancient'?",
     "Modern is a common antonym for 'ancient'. Depending on context, 'new', 'recent' or 'contemporary' also "
     'work.'),
    ("What does 'diligent' mean?",
     "'Diligent' describes someone who works carefully and puts steady effort into a task. Example: 'The "
     "diligent student reviewed her notes every evening.'"),
    ("What's the meaning of 'bite the bullet'?",
     "To bite the bullet is to make yourself do something unpleasant or difficult that you've been avoiding. "
     "Example: 'I finally bit the bullet and booked the dentist appointment.'"),
    ("Define 'empathy'.",
     "Empathy is the ability to understand and share another person's feelings, imagining how a situation "
     'feels from their point of view. It differs from sympathy, which is feeling concern for someone without '
     'necessarily sharing their feelings.'),
    ("What does 'serendipity' mean?",
     "Serendipity is the happy accident of finding something good without looking for it. Example: 'By "
     "serendipity, she met her future business partner while waiting for a delayed train.'"),
    ("Use 'although' in a sentence.",
     "'Although it was raining, we still went for a walk along the beach.' The word introduces a contrast "
     'between two ideas.'),
    ("What does 'pragmatic' mean?",
     'Pragmatic means dealing with things in a practical, realistic way rather than by theory or ideals. '
     "Example: 'Instead of waiting for the perfect plan, she took a pragmatic approach and fixed the biggest "
     "problem first.'"),
    ("What is the past tense of 'swim'?",
     "Swam, as in 'We swam in the lake yesterday.' The past participle is 'swum', as in 'I have swum there "
     "many times.'"),
    ("What does 'hit the sack' mean?",
     "It's an informal way of saying 'go to bed'. Example: 'I'm exhausted, so I'm going to hit the sack "
     "early tonight.'"),
    ("Define the word 'candid'.",
     "Candid means honest and direct, even about uncomfortable things. Example: 'Thanks for your candid "
     "feedback.' A candid photo is one taken naturally, without the subject posing."),
    ("What does 'benevolent' mean?",
     "'Benevolent' means kind, well-meaning and generous toward others. Example: 'A benevolent neighbour "
     "paid for the new benches in the park.'"),
    ("What's a word that means 'to make something better'?",
     "Improve is the everyday word. Others include 'enhance', 'refine', 'upgrade' and the more formal "
     "'ameliorate'. Example: 'Practice will improve your pronunciation.'"),
]

HAND_WRITTEN: dict[str, list[tuple[str, str]]] = {
    "writing": WRITING,
    "explanation": EXPLANATION,
    "how_to": HOW_TO,
    "rewriting": REWRITING,
    "brainstorming": BRAINSTORMING,
    "coding": CODING,
    "summarisation": SUMMARISATION,
    "advice": ADVICE,
    "knowledge": KNOWLEDGE,
    "planning": PLANNING,
    "comparison": COMPARISON,
    "vocabulary": VOCABULARY,
}
